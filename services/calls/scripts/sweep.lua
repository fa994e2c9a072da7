-- The timeouts, swept by whichever replica runs this first (the step is atomic, so replicas
-- sweeping at once never handle one timeout twice): offers not accepted within the ring
-- timeout, operators silent past their heartbeat deadline, wrap-ups past their limit; then
-- waiting calls are offered again where operators are free (tiers opening with time,
-- de-escalation operators coming back). Telephony adapters whose command stream stayed closed
-- past the adapter timeout are presumed dead: their waiting and reserved calls end FAILED.
-- Calls waiting past their queue's max wait overflow.
-- ARGV[1]: {limit, random, nonce}
-- Returns: {reservations, heartbeats, wrapups, routed, drops, adapters, overflows}
local limit = num(A.limit, 100)
local counts = {reservations = 0, heartbeats = 0, wrapups = 0, routed = 0, drops = 0,
                adapters = 0, overflows = 0}

for _, call_id in ipairs(redis.call('ZRANGEBYSCORE', RESERVATIONS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', RESERVATIONS, call_id)
  local call = hgetall(call_key(call_id))
  if call.state == 'RESERVED' and call.accepted ~= '1' and num(call.res_exp, 0) <= NOW then
    local op_id = call.op
    local op = hgetall(op_key(op_id))
    local misses = num(op.misses, 0) + 1
    local max_misses = num(redis.call('HGET', queue_key(call.queue), 'max_miss'), 3)
    log_call('reservation_timed_out', call_id, {op = op_id, res = call.res, misses = misses})
    requeue(call_id, call, op_id, 'EXPIRED')
    if op.call == call_id then
      if max_misses > 0 and misses >= max_misses then
        set_operator_state(op_id, op, 'NOT_READY', 'missed_calls',
                           {call = '', res = '', misses = misses})
      else
        set_operator_state(op_id, op, 'AVAILABLE', '', {call = '', res = '', misses = misses})
        make_available(op_id, op)
      end
    end
    counts.reservations = counts.reservations + 1
    counts.routed = counts.routed + route_queue(call.queue, 4)
  end
end

for _, op_id in ipairs(redis.call('ZRANGEBYSCORE', HEARTBEATS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', HEARTBEATS, op_id)
  local op = hgetall(op_key(op_id))
  local state = op.state or 'OFFLINE'
  if state == 'ON_CALL' or state == 'WRAP_UP' then
    -- The conversation goes on in telephony; the operator leaves when it is done.
    hset(op_key(op_id), {pending_state = 'OFFLINE', pending_reason = 'heartbeat_timeout'})
  elseif state ~= 'OFFLINE' then
    if state == 'RESERVED' then
      local call = hgetall(call_key(op.call))
      if call.state == 'RESERVED' and call.accepted ~= '1' and call.op == op_id then
        cancel_reservation(op.call, call, 'heartbeat_timeout')
        requeue(op.call, call, op_id)
        counts.routed = counts.routed + route_queue(call.queue, 4)
      end
    end
    make_unavailable(op_id, op)
    set_staffed(op_id, op, false)
    set_operator_state(op_id, op, 'OFFLINE', 'heartbeat_timeout',
                       {session = '', call = '', res = ''})
  end
  counts.heartbeats = counts.heartbeats + 1
end

for _, op_id in ipairs(redis.call('ZRANGEBYSCORE', WRAPUPS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', WRAPUPS, op_id)
  local op = hgetall(op_key(op_id))
  if op.state == 'WRAP_UP' and num(op.wrap_dl, 0) <= NOW then
    local call_id = op.call
    if call_id ~= nil and call_id ~= '' then
      local call = hgetall(call_key(call_id))
      if call.state == 'WRAP_UP' or (call.state == 'TRANSFERRED' and (call.wrap or '') == '') then
        local fields = {missing_wrap = 1}
        if call.state == 'WRAP_UP' then fields.state = 'COMPLETED' end
        hset(call_key(call_id), fields)
        log_call('wrap_up_timed_out', call_id, {op = op_id})
        if call.state == 'WRAP_UP' then log_call('call_completed', call_id) end
        end_call_live(call_id)
      end
    end
    release_operator(op_id, op)
    counts.wrapups = counts.wrapups + 1
  end
end

-- Answered predictive dials no operator took in time: dropped (the adapter plays the
-- announcement and hangs up; the dialler records the attempt DROPPED).
for _, call_id in ipairs(redis.call('ZRANGEBYSCORE', DIAL_DROPS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', DIAL_DROPS, call_id)
  local call = hgetall(call_key(call_id))
  if call.state == 'RESERVED' and call.accepted ~= '1' then
    -- Offered to an operator who has not taken it in time: the customer is not kept waiting
    -- longer; the operator is not charged a miss.
    redis.call('ZREM', RESERVATIONS, call_id)
    close_offer(call_id, call, 'CANCELLED', 'dropped')
    local op = hgetall(op_key(call.op))
    if op.call == call_id then release_operator(call.op, op) end
    hset(call_key(call_id), {state = 'FAILED', t_end = NOW, end_reason = 'OVERFLOW',
                             abandoned_in = 'RESERVED', dial_outcome = 'DROPPED', op = '',
                             res = ''})
    log_call('call_failed', call_id)
    end_call_live(call_id)
    untrack_adapter_call(call_id, call)
    send_command(call_id, 'hang_up', {reason = 'OVERFLOW', announcement = 'no_operator_drop'})
    counts.drops = counts.drops + 1
  elseif call.state == 'QUEUED' then
    dequeue(call.queue, call_id)
    hset(call_key(call_id), {state = 'FAILED', t_end = NOW, end_reason = 'OVERFLOW',
                             abandoned_in = 'QUEUED', dial_outcome = 'DROPPED'})
    log_call('call_failed', call_id)
    end_call_live(call_id)
    untrack_adapter_call(call_id, call)
    send_command(call_id, 'hang_up', {reason = 'OVERFLOW', announcement = 'no_operator_drop'})
    counts.drops = counts.drops + 1
  end
end
for _, adapter in ipairs(redis.call('ZRANGEBYSCORE', ADAPTERS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', ADAPTERS, adapter)
  redis.call('DEL', adapter_key(adapter, 'stream'))
  local reason = 'telephony adapter ' .. adapter .. ' is gone'
  for _, call_id in ipairs(redis.call('SMEMBERS', adapter_key(adapter, 'calls'))) do
    local call = hgetall(call_key(call_id))
    local origin = warm_origin(call_id, call)
    fail_waiting_call(call_id, reason)
    if origin then
      hset(call_key(call.prev), {next = ''})
      log_call('transfer_ended', call.prev)
    end
  end
  redis.call('DEL', adapter_key(adapter, 'calls'))
  counts.adapters = counts.adapters + 1
end
-- Calls waiting past their queue's max wait overflow (moved to the overflow queue, or ended
-- with an OverflowCommand). One offered to an operator right now is left to its offer: if
-- the offer fails, the call goes back to the queue with its deadline and overflows then.
for _, call_id in ipairs(redis.call('ZRANGEBYSCORE', OVERFLOWS, '-inf', NOW, 'LIMIT', 0, limit)) do
  redis.call('ZREM', OVERFLOWS, call_id)
  local call = hgetall(call_key(call_id))
  if call.state == 'QUEUED' and (call.ovf_dl or '') ~= '' and num(call.ovf_dl, 0) <= NOW then
    -- The queue's limit as it is now: removed, the call stays; made longer, it waits longer.
    local wait = num(redis.call('HGET', queue_key(call.queue), 'ovf_wait_ms'), -1)
    local deadline = num(call.t_enter, num(call.t_queue, NOW)) + wait
    if wait < 0 then
      hset(call_key(call_id), {ovf_dl = ''})
    elseif deadline > NOW then
      hset(call_key(call_id), {ovf_dl = deadline})
      redis.call('ZADD', OVERFLOWS, exact(deadline), call_id)
    else
      dequeue(call.queue, call_id)
      overflow_call(call_id, call.queue, 'max_wait_time')
      counts.overflows = counts.overflows + 1
    end
  end
end
for _, queue in ipairs(redis.call('SMEMBERS', WAITING_QUEUES)) do
  counts.routed = counts.routed + route_queue(queue, 2)
end
return finish(counts)
