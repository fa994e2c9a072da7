-- An operator declines the call offered to them: the call goes back to its original place and
-- the operator's misses grow (NOT_READY "missed_calls" at the queue's limit).
-- ARGV[1]: {op (empty: the reservation's operator), call, reservation, reason, random, request_id, method, fingerprint}
-- Returns: {op, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
-- Without an authenticated operator the reservation's own operator is the one acting.
if (A.op or '') == '' then A.op = call.op or '' end
if call.state ~= 'RESERVED' or call.accepted == '1' or call.res ~= A.reservation or
    call.op ~= A.op then
  return fail('FAILED_PRECONDITION', 'RESERVATION_CLOSED',
              'reservation ' .. A.reservation .. ' is no longer pending')
end
redis.call('ZREM', RESERVATIONS, A.call)
local op = hgetall(op_key(A.op))
local misses = num(op.misses, 0) + 1
local max_misses = num(redis.call('HGET', queue_key(call.queue), 'max_miss'), 3)
log_call('reservation_rejected', A.call, {op = A.op, res = A.reservation,
                                          reason = A.reason or '', misses = misses})
requeue(A.call, call, A.op, 'REJECTED', A.reason)
if max_misses > 0 and misses >= max_misses then
  set_operator_state(A.op, op, 'NOT_READY', 'missed_calls', {call = '', res = '', misses = misses})
else
  set_operator_state(A.op, op, 'AVAILABLE', '', {call = '', res = '', misses = misses})
  make_available(A.op, op)
end
route_queue(call.queue, 4)
route_operator_queues(op)
return finish({op = A.op, snap = hgetall(op_key(A.op))})
