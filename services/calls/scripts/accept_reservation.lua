-- An operator accepts the call offered to them: the operator is ON_CALL, the call's adapter
-- gets a BridgeCommand (a consult one for the new leg of a warm transfer) and the call, still
-- RESERVED, waits for telephony's ConnectCall (or, for a consult, its acknowledgement).
-- ARGV[1]: {op (empty: the reservation's operator), call, reservation, request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
-- Without an authenticated operator the reservation's own operator is the one acting.
if (A.op or '') == '' then A.op = call.op or '' end
if call.res ~= A.reservation or call.op ~= A.op then
  return fail('FAILED_PRECONDITION', 'RESERVATION_CLOSED',
              'reservation ' .. A.reservation .. ' is no longer pending (the call is ' ..
              call.state .. ')')
end
if call.state ~= 'RESERVED' or call.accepted == '1' then
  return fail('FAILED_PRECONDITION', 'RESERVATION_CLOSED',
              'reservation ' .. A.reservation .. ' is no longer pending')
end
if num(call.res_exp, 0) < NOW then
  -- It expired a moment ago and the sweep has not reached it yet: the timeout wins.
  return fail('ABORTED', 'RESERVATION_RACE', 'reservation ' .. A.reservation .. ' expired')
end
redis.call('ZREM', RESERVATIONS, A.call)
hset(call_key(A.call), {accepted = 1, t_accept = NOW})
local op = hgetall(op_key(A.op))
set_operator_state(A.op, op, 'ON_CALL', '', {call = A.call, res = '', misses = 0})
log_call('reservation_accepted', A.call, {op = A.op})
send_bridge(A.call, A.op, warm_origin(A.call, call) ~= nil)
return finish({call = A.call, snap = hgetall(call_key(A.call))})
