-- A dialled customer answered (CampaignsService.ReportDialOutcome, ANSWERED_HUMAN). With an
-- operator reserved at the dial (preview, progressive, call-backs, manual calls) the call is
-- CONNECTED to them; without one (predictive) it is queued at its priority and offered to the
-- first free operator, and dropped if none takes it before the drop deadline (the sweep).
-- ARGV[1]: {call, adapter, tel_id, drop_ms, random, request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
if call.state ~= 'OFFERED' and not (call.state == 'RESERVED' and call.accepted == '1' and
                                    num(call.t_connect, 0) == 0) then
  -- Reported before (or ended meanwhile): the same answer again.
  return finish({call = A.call, snap = call})
end
if (A.adapter or '') ~= '' and (A.tel_id or '') ~= '' then
  redis.call('SET', key('tel', A.adapter, A.tel_id), A.call, 'EX', LIVE_TTL)
  hset(call_key(A.call), {adapter = A.adapter, tel_id = A.tel_id})
end
if call.state == 'RESERVED' then
  hset(call_key(A.call), {state = 'CONNECTED', t_connect = NOW})
  redis.call('HINCRBY', queue_key(call.queue), 'answered:' .. DAY, 1)
  redis.call('HINCRBY', queue_key(call.queue), 'answered_in_sl:' .. DAY, 1)
  log_call('call_connected', A.call)
  return finish({call = A.call, snap = hgetall(call_key(A.call))})
end
local score = exact(call_score(num(call.prio, 9)))
hset(call_key(A.call), {state = 'QUEUED', t_queue = NOW, score = score,
                        drop_dl = NOW + num(A.drop_ms, 2000)})
enqueue(call.queue, A.call, score)
redis.call('ZADD', DIAL_DROPS, exact(NOW + num(A.drop_ms, 2000)), A.call)
-- Waiting for an operator like an inbound call: failed with the rest if its adapter dies.
track_adapter_call(A.call, hgetall(call_key(A.call)).adapter)
log_call('call_queued', A.call, {position = position_of(call.queue, A.call), ewt = 0})
route_queue(call.queue, 4)
return finish({call = A.call, snap = hgetall(call_key(A.call))})
