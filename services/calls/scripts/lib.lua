-- Prelude shared by every script of the calls service (prepended to each at build time).
--
-- KEYS[1]  the site's key prefix "cc:{<site>}"; every key a script touches starts with it, so
--          all of them share one hash tag (one slot: single Redis, Sentinel and Cluster alike).
-- ARGV[1]  the script's arguments as a JSON object; `request_id` and `method` (idempotency)
--          and `fingerprint` (of the request) are common to all.
-- Returns  a JSON object, or an error "<GRPC_CODE> <REASON>: <message>" written before any
--          change (Redis does not roll a script back, so every check comes first).
--
-- Key schema (docs/calls.md has the full table):
--   <P>:op:<operator>             hash   an operator's configuration and live presence
--   <P>:call:<call>               hash   a live call (kept 24 h after it ends, for GetCall)
--   <P>:queue:<queue>             hash   a queue's routing configuration and today's counters
--   <P>:q:<queue>:calls           zset   waiting calls; score (9 - priority) * 9e14 + queued us
--                                        since 2025 (exact in a double until 2053)
--   <P>:q:<queue>:ops:<tier>      zset   available operators of a tier; score penalty * 1e13
--                                        + the strategy's key (lowest is served first)
--   <P>:q:<queue>:deesc           set    operators who may take abusive callers
--   <P>:reservations              zset   calls offered to an operator, by expiry ms
--   <P>:heartbeats                zset   logged-in operators, by heartbeat expiry ms
--   <P>:wrapups                   zset   operators in wrap-up, by wrap-up deadline ms
--   <P>:waiting_queues            set    queues with waiting calls (the sweep's rebalancing)
--   <P>:dial_drops                zset   answered predictive dials waiting for an operator, by
--                                        drop deadline ms
--   <P>:tel:<adapter>:<call id>   string the call of a telephony adapter's call id
--   <P>:cmd:<command id>          hash   one telephony command and its acknowledgement (24 h)
--   <P>:telephony:<adapter>:cmds  zset   the adapter's commands not acknowledged yet, by issue
--                                        time in us (WatchTelephonyCommands re-sends them)
--   <P>:telephony:<adapter>:stream string id of the adapter's one open command stream
--   <P>:telephony:<adapter>:calls set    the adapter's calls that may still be waiting
--   <P>:adapters                  zset   adapters that opened a command stream, by the ms after
--                                        which, with no stream open, they are presumed dead
--   <P>:overflows                 zset   waiting calls of queues with a max wait, by the ms
--                                        at which they overflow (the sweep moves or ends them)
--   <P>:req:<method>:<request>    string the answer of an earlier request (24 h)
--   <P>:calls:log                 stream every change, as JSON, for the relay (records and
--                                        public events) and the live views; trimmed by the relay
local P = KEYS[1]
local A = cjson.decode(ARGV[1])
local TIME = redis.call('TIME')
local NOW = tonumber(TIME[1]) * 1000 + math.floor(tonumber(TIME[2]) / 1000)
local NOW_US = tonumber(TIME[1]) * 1000000 + tonumber(TIME[2])
local EPOCH_2025_US = 1735689600000000
-- Scores count milliseconds from 2020 so that they stay exact integers in a double.
local EPOCH_2020 = 1577836800000
local DAY = math.floor(NOW / 86400000)

local function key(...) return P .. ':' .. table.concat({...}, ':') end
-- Numbers as exact integer text: Lua's own conversion keeps 14 digits only.
local function exact(x) return string.format('%.0f', x) end
local function call_key(c) return key('call', c) end
local function op_key(o) return key('op', o) end
local function queue_key(q) return key('queue', q) end
local function queue_calls(q) return key('q', q, 'calls') end
local function queue_ops(q, tier) return key('q', q, 'ops', tier) end
local function queue_deesc(q) return key('q', q, 'deesc') end
local function queue_staff(q) return key('q', q, 'staff') end
local RESERVATIONS = key('reservations')
local HEARTBEATS = key('heartbeats')
local WRAPUPS = key('wrapups')
local WAITING_QUEUES = key('waiting_queues')
local DIAL_DROPS = key('dial_drops')
local LOG = key('calls', 'log')
local ADAPTERS = key('adapters')
local OVERFLOWS = key('overflows')
local LIVE_TTL = 86400

local function fail(code, reason, message)
  return redis.error_reply(code .. ' ' .. reason .. ': ' .. message)
end

local function num(value, default)
  if value == nil or value == false or value == '' then return default end
  return tonumber(value)
end

local function hgetall(k)
  local flat = redis.call('HGETALL', k)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function hset(k, fields)
  local flat = {}
  for f, v in pairs(fields) do
    flat[#flat + 1] = f
    flat[#flat + 1] = tostring(v)
  end
  if #flat > 0 then redis.call('HSET', k, unpack(flat)) end
end

local function decode(json, default)
  if json == nil or json == '' then return default end
  return cjson.decode(json)
end

-- Idempotency: an earlier answer to the same method and request_id, if any.
local function replay()
  if A.request_id == nil or A.request_id == '' then return nil end
  local stored = redis.call('GET', key('req', A.method, A.request_id))
  if not stored then return nil end
  local fingerprint, answer = string.match(stored, '^([^\n]*)\n(.*)$')
  if fingerprint ~= (A.fingerprint or '') then
    return fail('INVALID_ARGUMENT', 'REQUEST_ID_REUSED',
                'request_id was used before with a different request')
  end
  return answer
end

-- The start of a script on one call (A.call): the earlier answer to the same request, to return
-- at once; or nil and the call's hash (NOT_FOUND, to return at once, when there is no such call).
local function replay_or_load_call()
  local earlier = replay()
  if earlier then return earlier end
  local call = hgetall(call_key(A.call))
  if call.state == nil then
    return fail('NOT_FOUND', 'CALL_NOT_FOUND', 'call ' .. A.call .. ' does not exist')
  end
  return nil, call
end

-- Changes to append to the log when the script ends successfully, as one entry:
-- {"c": [change, ...], "s": {call id: the call's hash as the script left it}}. Each call's
-- snapshot is written once per script however many changes it went through.
local CHANGES = {}
local CHANGED_CALLS = {}
local function log_change(kind, fields)
  fields.t = kind
  fields.at = NOW
  CHANGES[#CHANGES + 1] = fields
end

-- Ends a successful script: the answer is remembered for its request_id and the changes are
-- appended to the log, all in this one atomic step.
local function finish(result)
  local answer = cjson.encode(result)
  if A.request_id ~= nil and A.request_id ~= '' then
    redis.call('SET', key('req', A.method, A.request_id), (A.fingerprint or '') .. '\n' .. answer,
               'EX', 86400)
  end
  if #CHANGES > 0 then
    local snapshots = {}
    for call_id in pairs(CHANGED_CALLS) do snapshots[call_id] = hgetall(call_key(call_id)) end
    redis.call('XADD', LOG, 'MAXLEN', '~', '500000', '*', 'c',
               cjson.encode({c = CHANGES, s = snapshots}))
  end
  return answer
end

local function handled_today(op)
  if num(op.handled_day, -1) ~= DAY then return 0 end
  return num(op.handled, 0)
end

-- The operator's place among the available operators of one membership.
local function operator_score(queue, membership, op)
  local strategy = num(redis.call('HGET', queue_key(queue), 'strategy'), 1)
  local idle = NOW - EPOCH_2020
  local base
  if strategy == 2 then      -- fewest calls today, then longest idle
    base = math.min(handled_today(op), 9999) * 1e9 + math.floor(idle / 1000)
  elseif strategy == 3 then  -- highest skill level, then longest idle
    base = (10 - num(membership.level, 1)) * 1e12 + idle
  elseif strategy == 4 then  -- round robin: a fixed order of the members
    base = num(membership.ord, 0)
  else                       -- longest idle (and random, which picks within the lowest band)
    base = idle
  end
  return num(membership.penalty, 0) * 1e13 + base
end

local function memberships(op) return decode(op.queues, {}) end

-- Puts an operator into the available sets of their queues.
local function make_available(op_id, op)
  for _, m in ipairs(memberships(op)) do
    if not m.paused and redis.call('HGET', queue_key(m.q), 'deleted') ~= '1' then
      redis.call('ZADD', queue_ops(m.q, m.tier or 1), exact(operator_score(m.q, m, op)), op_id)
    end
  end
end

local function make_unavailable(op_id, op)
  for _, m in ipairs(memberships(op)) do
    redis.call('ZREM', queue_ops(m.q, m.tier or 1), op_id)
  end
end

-- A change of an operator's state: recorded with what the log and the views need.
local function set_operator_state(op_id, op, state, reason, extra)
  local previous = op.state or 'OFFLINE'
  local previous_since = num(op.since, NOW)
  local fields = {state = state, reason = reason or '', since = NOW, by = A.changed_by or ''}
  if extra then for f, v in pairs(extra) do fields[f] = v end end
  hset(op_key(op_id), fields)
  for f, v in pairs(fields) do op[f] = tostring(v) end
  log_change('operator_state', {op = op_id, prev = previous, prev_ms = NOW - previous_since,
                                state = state, reason = reason or '', call = op.call or '',
                                by = A.changed_by or '', team = op.team or '',
                                queues = op.queues or '[]'})
end

-- A change of a call: with the call's state at that point (its snapshot goes with the entry).
local function log_call(kind, call_id, extra)
  local fields = extra or {}
  fields.call = call_id
  fields.state = redis.call('HGET', call_key(call_id), 'state') or ''
  CHANGED_CALLS[call_id] = true
  log_change(kind, fields)
end

-- Microseconds, so that two calls queued in one millisecond keep their order (members with
-- equal scores would be ordered by id, not by arrival).
local function call_score(priority)
  return (9 - priority) * 9e14 + (NOW_US - EPOCH_2025_US)
end

local function enqueue(queue, call_id, score)
  redis.call('ZADD', queue_calls(queue), score, call_id)  -- score: exact text from the call hash
  redis.call('SADD', WAITING_QUEUES, queue)
end

local function dequeue(queue, call_id)
  redis.call('ZREM', queue_calls(queue), call_id)
  if redis.call('ZCARD', queue_calls(queue)) == 0 then redis.call('SREM', WAITING_QUEUES, queue) end
end

-- The available operator who should take `call` of `queue`, or nil.
-- An operator who declined or missed a call is not offered it again for SKIP_MS while
-- others may take it; after that (one operator on duty) it comes back to them.
local SKIP_MS = 5000
local function skipped_operator(call)
  if num(call.skip_until, 0) <= NOW then return '' end
  return call.skip_op or ''
end

local function pick_operator(queue, qc, call)
  local tiers = decode(qc.tiers, {1})
  local tier_wait = num(qc.tier_wait_ms, 0)
  local waited = NOW - num(call.t_queue, NOW)
  local need_deesc = call.abusive == '1' and (qc.deesc or '') ~= ''
  local strategy = num(qc.strategy, 1)
  for _, tier in ipairs(tiers) do
    if tier > 1 and tier_wait > 0 and waited < (tier - 1) * tier_wait then return nil end
    local zset = queue_ops(queue, tier)
    local candidates
    if strategy == 5 then
      -- Random among the operators of the lowest penalty band.
      candidates = {}
      local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
      if #first > 0 then
        local band = math.floor(tonumber(first[2]) / 1e13)
        local band_members = redis.call('ZRANGEBYSCORE', zset, exact(band * 1e13),
                                        '(' .. exact((band + 1) * 1e13), 'LIMIT', 0, 64)
        local start = (num(A.random, 0) % #band_members)
        for i = 0, #band_members - 1 do
          candidates[#candidates + 1] = band_members[((start + i) % #band_members) + 1]
        end
      end
    elseif strategy == 4 then
      -- Round robin: the first member after the last one served, wrapping around.
      local pointer = qc['rr:' .. tier] or '-1'
      candidates = redis.call('ZRANGEBYSCORE', zset, '(' .. pointer, '+inf', 'LIMIT', 0, 16)
      for _, id in ipairs(redis.call('ZRANGE', zset, 0, 15)) do candidates[#candidates + 1] = id end
    else
      candidates = redis.call('ZRANGE', zset, 0, 15)
    end
    local skip = skipped_operator(call)
    for _, candidate in ipairs(candidates) do
      if candidate ~= skip and
          (not need_deesc or redis.call('SISMEMBER', queue_deesc(queue), candidate) == 1) then
        if strategy == 4 then
          redis.call('HSET', queue_key(queue), 'rr:' .. tier, redis.call('ZSCORE', zset, candidate))
        end
        return candidate
      end
    end
  end
  return nil
end

-- Offers `call` to `op_id`: both RESERVED, the offer's expiry in the reservations set.
local function reserve(queue, call_id, call, op_id)
  local op = hgetall(op_key(op_id))
  make_unavailable(op_id, op)
  dequeue(queue, call_id)
  local attempt = num(call.attempt, 0) + 1
  local reservation = call_id .. '/reservations/' .. attempt
  local ring_ms = num(redis.call('HGET', queue_key(queue), 'ring_ms'), 20000)
  local offers = decode(call.offers, {})
  offers[#offers + 1] = {op = op_id, attempt = attempt, at = NOW, exp = NOW + ring_ms}
  hset(call_key(call_id), {state = 'RESERVED', op = op_id, team = op.team or '',
                           res = reservation, attempt = attempt, t_reserve = NOW,
                           res_exp = NOW + ring_ms, accepted = 0, skip_op = '',
                           offers = cjson.encode(offers)})
  redis.call('ZADD', RESERVATIONS, exact(NOW + ring_ms), call_id)
  set_operator_state(op_id, op, 'RESERVED', '', {call = call_id, res = reservation})
  log_call('call_reserved', call_id, {op = op_id, res = reservation, attempt = attempt,
                                      exp = NOW + ring_ms})
end

-- Offers waiting calls of `queue` to available operators, head first, at most `budget` times.
local function route_queue(queue, budget)
  local qc = hgetall(queue_key(queue))
  if qc.deleted == '1' then return 0 end
  local routed = 0
  local skipped = 0
  while routed < budget and skipped < 64 do
    local ids = redis.call('ZRANGE', queue_calls(queue), skipped, skipped + 7)
    if #ids == 0 then return routed end
    local matched = false
    for _, id in ipairs(ids) do
      local call = hgetall(call_key(id))
      local op_id = pick_operator(queue, qc, call)
      if op_id then
        reserve(queue, id, call, op_id)
        routed = routed + 1
        matched = true
        break
      end
      -- A call waiting for a particular kind of operator (de-escalation, not the one who just
      -- declined it) must not hold back the calls behind it; any other call finding no
      -- operator means none is available for this queue now.
      local special = (call.abusive == '1' and (qc.deesc or '') ~= '') or
                      skipped_operator(call) ~= ''
      if not special then return routed end
      skipped = skipped + 1
    end
    if not matched and #ids < 8 then return routed end
  end
  return routed
end

-- Routes every queue an operator serves (after they become available).
local function route_operator_queues(op)
  for _, m in ipairs(memberships(op)) do route_queue(m.q, 4) end
end

local function end_call_live(call_id)
  redis.call('EXPIRE', call_key(call_id), LIVE_TTL)
end

-- 1-based place of a waiting call in its queue; 0 when it is not waiting.
local function position_of(queue, call_id)
  local rank = redis.call('ZRANK', queue_calls(queue), call_id)
  if not rank then return 0 end
  return rank + 1
end

-- Expected wait of the call at `position`: the calls ahead of it shared among the queue's
-- logged-in operators, each taking the queue's average handling time.
local function estimated_wait_ms(queue, position)
  if position <= 0 then return 0 end
  local staff = math.max(1, redis.call('SCARD', queue_staff(queue)))
  local aht = num(redis.call('HGET', queue_key(queue), 'aht_ms'), 180000)
  return math.floor(math.ceil(position / staff) * aht)
end

-- Logged-in operators are counted per queue for the estimated wait.
local function set_staffed(op_id, op, staffed)
  for _, m in ipairs(memberships(op)) do
    if staffed then redis.call('SADD', queue_staff(m.q), op_id)
    else redis.call('SREM', queue_staff(m.q), op_id) end
  end
end

-- Ends an offer that is still pending without the operator's fault (the caller hung up, the
-- operator logged out, a supervisor moved them): the operator is not charged a miss.
-- Records how the call's current offer ended (REJECTED, EXPIRED or CANCELLED) in its history.
local function close_offer(call_id, call, outcome, reason)
  local offers = decode(call.offers, {})
  local last = offers[#offers]
  if last == nil or last.out ~= nil then return end
  last.out = outcome
  last.closed = NOW
  if reason and reason ~= '' then last.reason = reason end
  call.offers = cjson.encode(offers)
  hset(call_key(call_id), {offers = call.offers})
end

local function cancel_reservation(call_id, call, reason)
  redis.call('ZREM', RESERVATIONS, call_id)
  close_offer(call_id, call, 'CANCELLED', reason)
  CHANGED_CALLS[call_id] = true
  log_change('reservation_cancelled', {call = call_id, op = call.op, res = call.res,
                                       reason = reason, state = call.state})
end

-- Puts a call whose offer ended back at its original place in its queue.
local function requeue(call_id, call, skip_op, outcome, reason)
  if outcome then close_offer(call_id, call, outcome, reason) end
  hset(call_key(call_id), {state = 'QUEUED', op = '', res = '', accepted = 0,
                           skip_op = skip_op or '', skip_until = NOW + SKIP_MS})
  enqueue(call.queue, call_id, call.score)
  -- A call of a queue with a max wait keeps its overflow deadline (overflowing at once when it
  -- passed while the call was offered).
  if (call.ovf_dl or '') ~= '' then
    redis.call('ZADD', OVERFLOWS, exact(math.max(num(call.ovf_dl, NOW), NOW)), call_id)
  end
  -- An answered predictive dial keeps its drop deadline (the sweep drops it once past).
  if (call.drop_dl or '') ~= '' then
    redis.call('ZADD', DIAL_DROPS, exact(math.max(num(call.drop_dl, NOW), NOW)), call_id)
  end
  log_call('call_queued', call_id, {requeued = true,
                                    position = position_of(call.queue, call_id)})
end

-- The operator is free again: AVAILABLE (or the state they asked for meanwhile) and offered
-- the next waiting call.
local function release_operator(op_id, op)
  local pending = op.pending_state or ''
  local extra = {call = '', res = '', pending_state = '', pending_reason = '', wrap_dl = ''}
  redis.call('ZREM', WRAPUPS, op_id)
  if pending == 'OFFLINE' then
    set_staffed(op_id, op, false)
    redis.call('ZREM', HEARTBEATS, op_id)
    extra.session = ''
    set_operator_state(op_id, op, 'OFFLINE', op.pending_reason or '', extra)
  elseif pending == 'NOT_READY' then
    set_operator_state(op_id, op, 'NOT_READY', op.pending_reason or '', extra)
  else
    set_operator_state(op_id, op, 'AVAILABLE', '', extra)
    make_available(op_id, op)
    route_operator_queues(op)
  end
end

-- Telephony commands (WatchTelephonyCommands). Each is kept in Redis until the adapter
-- acknowledges it (any replica re-sends it to a reconnecting adapter) and announced in the log
-- so that the replica serving the adapter's stream sends it at once. `A.nonce` (a fresh id per
-- script run) makes command ids unique. Nothing is sent for a call no adapter carries.
local COMMAND_TTL = 86400
local commands_sent = 0
-- (Not "adapter:<name>": CampaignsService's dial streams own that key.)
local function adapter_key(adapter, what) return key('telephony', adapter, what) end
local function send_command(call_id, kind, fields)
  local call = hgetall(call_key(call_id))
  local adapter = call.adapter or ''
  if adapter == '' then return nil end
  commands_sent = commands_sent + 1
  local id = (A.nonce or exact(NOW_US)) .. '-' .. commands_sent
  fields.kind = kind
  fields.adapter = adapter
  fields.call = call_id
  fields.tel_id = call.tel_id or ''
  fields.at = NOW
  fields.state = 'PENDING'
  hset(key('cmd', id), fields)
  redis.call('EXPIRE', key('cmd', id), COMMAND_TTL)
  local pending = adapter_key(adapter, 'cmds')
  redis.call('ZADD', pending, exact(NOW_US + commands_sent), id)
  redis.call('ZREMRANGEBYSCORE', pending, '-inf', exact(NOW_US - COMMAND_TTL * 1000000))
  -- Its commands live COMMAND_TTL at most, so the set of a silent adapter goes after that.
  redis.call('EXPIRE', pending, COMMAND_TTL)
  log_change('tel_command', {adapter = adapter, cmd = id, body = fields})
  return id
end

-- Connects the call's caller (or, for a warm transfer's consult, the transferring operator)
-- to the operator's endpoint.
local function send_bridge(call_id, op_id, consult)
  local call = hgetall(call_key(call_id))
  local endpoint = redis.call('HGET', op_key(op_id), 'endpoint') or ''
  local display = {caller_number = call.cnum or ''}
  local queue_name = redis.call('HGET', queue_key(call.queue or ''), 'display')
  if queue_name then display.queue = queue_name end
  return send_command(call_id, 'bridge', {op = op_id, endpoint = endpoint,
                                          consult = consult and 1 or 0,
                                          display = cjson.encode(display)})
end

-- The adapter's calls that may still be waiting: failed when the adapter is presumed dead.
local function track_adapter_call(call_id, adapter)
  if (adapter or '') ~= '' then
    redis.call('SADD', adapter_key(adapter, 'calls'), call_id)
    -- Trimmed by the stream's keep-alive; an adapter that never watches leaves it to expire.
    redis.call('EXPIRE', adapter_key(adapter, 'calls'), LIVE_TTL)
  end
end
local function untrack_adapter_call(call_id, call)
  if (call.adapter or '') ~= '' then
    redis.call('SREM', adapter_key(call.adapter, 'calls'), call_id)
  end
end

-- A warm transfer is in progress on a CONNECTED leg while `next` names its new leg; the new
-- leg carries `warm`. Returns the old leg's hash when `call_id` is the new leg of one.
local function warm_origin(call_id, call)
  if call.warm ~= '1' or (call.prev or '') == '' then return nil end
  local prev = hgetall(call_key(call.prev))
  if prev.state == 'CONNECTED' and prev.next == call_id then return prev end
  return nil
end

-- Ends a waiting call (QUEUED or RESERVED; e.g. the new leg of a warm transfer that will not
-- complete, or a call of a dead adapter): FAILED with `reason`, its operator (offered the call,
-- or accepted it: for a warm transfer's new leg, consulting) free again without a miss.
-- Returns whether the call had been accepted (a bridge had been ordered); false when the call
-- was not waiting (nothing changes then).
local function fail_waiting_call(new_id, reason)
  local leg = hgetall(call_key(new_id))
  local consulting = false
  redis.call('ZREM', DIAL_DROPS, new_id)
  if leg.state == 'QUEUED' then
    dequeue(leg.queue, new_id)
  elseif leg.state == 'RESERVED' then
    local op = hgetall(op_key(leg.op))
    redis.call('ZREM', RESERVATIONS, new_id)
    if leg.accepted == '1' then consulting = true else cancel_reservation(new_id, leg, reason) end
    if op.call == new_id then release_operator(leg.op, op) end
  else
    return false
  end
  hset(call_key(new_id), {state = 'FAILED', t_end = NOW, end_reason = 'FAILED',
                          fail_reason = reason, res = '', op = consulting and leg.op or '',
                          abandoned_in = ''})
  untrack_adapter_call(new_id, leg)
  log_call('call_failed', new_id)
  end_call_live(new_id)
  return consulting
end

-- Opening hours: the service writes a queue's open intervals of the coming days into its hash
-- ("start-end,..." in ms, computed in the queue's time zone; `oh_until` how far they reach),
-- so that a script only compares the time. Without opening hours the queue is always open;
-- past the horizon (no replica refreshed it for a week) it is open rather than refusing calls.
local function queue_open(qc)
  if qc.oh_on ~= '1' then return true end
  if NOW >= num(qc.oh_until, 0) then return true end
  for s, e in string.gmatch(qc.oh or '', '(%d+)-(%d+)') do
    if NOW < tonumber(s) then return false end
    if NOW < tonumber(e) then return true end
  end
  return false
end

-- Why `queue` cannot take one more call now ('closed', 'max_waiting_calls'), or nil.
local function overflow_reason(queue, qc)
  if not queue_open(qc) then return 'closed' end
  local max = num(qc.ovf_max, 0)
  if max > 0 and redis.call('ZCARD', queue_calls(queue)) >= max then return 'max_waiting_calls' end
  return nil
end

-- The max wait of the queue a call now waits in, counted from its entry into that queue.
local function arm_max_wait(call_id, qc)
  local wait = num(qc.ovf_wait_ms, -1)
  if wait >= 0 then
    hset(call_key(call_id), {t_enter = NOW, ovf_dl = NOW + wait})
    redis.call('ZADD', OVERFLOWS, exact(NOW + wait), call_id)
  else
    hset(call_key(call_id), {t_enter = NOW, ovf_dl = ''})
    redis.call('ZREM', OVERFLOWS, call_id)
  end
end

-- A call `queue` cannot take (offered while it is closed or full, or waiting past its max
-- wait; not in any queue's waiting set now) overflows: it moves to the queue's overflow target
-- keeping its place (the score: its priority and first enqueue time), following the target's
-- own overflow when that one is closed or full too; at a queue without a target (or a chain
-- that would loop) it ends FAILED OVERFLOW and the adapter gets an OverflowCommand with that
-- queue's announcement and forward number. Returns the queue it waits in now, or nil.
local function overflow_call(call_id, queue, reason)
  local from, why = queue, reason
  local seen = {[queue] = true}
  while true do
    local qc = hgetall(queue_key(from))
    redis.call('HINCRBY', queue_key(from), 'overflowed:' .. DAY, 1)
    local target = qc.ovf_target or ''
    local tc = nil
    if target ~= '' and not seen[target] then tc = hgetall(queue_key(target)) end
    if tc == nil or tc.strategy == nil or tc.deleted == '1' then
      local call = hgetall(call_key(call_id))
      redis.call('ZREM', OVERFLOWS, call_id)
      hset(call_key(call_id), {state = 'FAILED', t_end = NOW, end_reason = 'OVERFLOW',
                               fail_reason = 'overflow: ' .. why, ovf_reason = why,
                               ovf_from = from, abandoned_in = '', op = '', res = '',
                               ovf_dl = ''})
      untrack_adapter_call(call_id, call)
      log_call('call_failed', call_id, {overflow_from = from, reason = why})
      end_call_live(call_id)
      send_command(call_id, 'overflow', {queue = from, reason = why,
                                         announcement = qc.ovf_ann or '',
                                         forward = qc.ovf_fwd or ''})
      return nil
    end
    seen[target] = true
    local next_why = overflow_reason(target, tc)
    if next_why == nil then
      local score = redis.call('HGET', call_key(call_id), 'score')
      hset(call_key(call_id), {state = 'QUEUED', queue = target, ovf_from = from,
                               ovf_reason = why, op = '', res = ''})
      enqueue(target, call_id, score)
      arm_max_wait(call_id, tc)
      local position = position_of(target, call_id)
      log_call('call_queued', call_id, {position = position,
                                        ewt = estimated_wait_ms(target, position),
                                        overflow_from = from, reason = why})
      route_queue(target, 4)
      return target
    end
    from, why = target, next_why
  end
end
