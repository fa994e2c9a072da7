-- Telephony reports the caller and the operator connected: the call is CONNECTED.
-- ARGV[1]: {call, request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
if call.state == 'CONNECTED' then return finish({call = A.call, snap = call}) end
if call.state ~= 'RESERVED' then
  return fail('FAILED_PRECONDITION', 'CALL_ENDED',
              'call ' .. A.call .. ' is ' .. call.state .. ': hang the media up')
end
if call.accepted ~= '1' then
  return fail('FAILED_PRECONDITION', 'NOT_ACCEPTED',
              'call ' .. A.call .. ' has no accepted reservation')
end
if warm_origin(A.call, call) then
  -- The consult of a warm transfer is confirmed by acknowledging its BridgeCommand; the caller
  -- is connected by the BridgeCommand that CompleteTransfer sends.
  return fail('FAILED_PRECONDITION', 'CONSULT_IN_PROGRESS',
              'call ' .. A.call .. ' is the consult of a warm transfer not completed yet')
end
untrack_adapter_call(A.call, call)
hset(call_key(A.call), {state = 'CONNECTED', t_connect = NOW})
redis.call('HINCRBY', queue_key(call.queue), 'answered:' .. DAY, 1)
local threshold = num(redis.call('HGET', queue_key(call.queue), 'sl_ms'), 20000)
if NOW - num(call.t_queue, NOW) <= threshold then
  redis.call('HINCRBY', queue_key(call.queue), 'answered_in_sl:' .. DAY, 1)
end
log_call('call_connected', A.call)
return finish({call = A.call, snap = hgetall(call_key(A.call))})
