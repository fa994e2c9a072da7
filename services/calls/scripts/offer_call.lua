-- Offers a call to a queue (telephony's OfferCall, an answered outbound call, a transferred
-- leg): creates the live call, queues it at its place (priority, then time) and offers the
-- queue's head to an available operator: the whole routing decision in this one step.
-- ARGV[1]: {call_id, queue, priority (-1: the queue's default), vip, abusive, customer, lookup,
--           caller, dialled, attrs (JSON text), adapter, tel_id, site, direction, campaign,
--           chain_root, previous_call, random, request_id, method, fingerprint}
-- Returns: {call, snap, position, ewt_ms, existing}
local earlier = replay()
if earlier then return earlier end
if (A.adapter or '') ~= '' and (A.tel_id or '') ~= '' then
  local existing = redis.call('GET', key('tel', A.adapter, A.tel_id))
  if existing then
    local snap = hgetall(call_key(existing))
    local position = position_of(snap.queue or '', existing)
    return finish({call = existing, snap = snap, position = position,
                   ewt_ms = estimated_wait_ms(snap.queue or '', position), existing = true})
  end
end
local qc = hgetall(queue_key(A.queue))
if qc.strategy == nil then
  return fail('NOT_FOUND', 'QUEUE_NOT_FOUND', 'queue ' .. A.queue .. ' does not exist')
end
if qc.deleted == '1' then
  return fail('FAILED_PRECONDITION', 'QUEUE_DELETED', 'queue ' .. A.queue .. ' is deleted')
end
local requested = A.priority
if requested == nil or requested < 0 then requested = num(qc.def_prio, 0) end
local priority = requested
if A.vip then priority = math.min(9, priority + num(qc.vip_boost, 3)) end
local score = exact(call_score(priority))
hset(call_key(A.call_id), {
  state = 'QUEUED', dir = A.direction or 'INBOUND', site = A.site or '', queue = A.queue,
  orig_queue = A.queue, prio = priority, rprio = requested, vip = A.vip and 1 or 0,
  abusive = A.abusive and 1 or 0, customer = A.customer or '', lookup = A.lookup or 0,
  cnum = A.caller or '', dnum = A.dialled or '', attrs = A.attrs or '{}',
  adapter = A.adapter or '', tel_id = A.tel_id or '', campaign = A.campaign or '',
  chain_root = A.chain_root or A.call_id, prev = A.previous_call or '',
  t_offer = NOW, t_queue = NOW, score = score, attempt = 0, ver = 1})
if (A.adapter or '') ~= '' and (A.tel_id or '') ~= '' then
  redis.call('SET', key('tel', A.adapter, A.tel_id), A.call_id, 'EX', LIVE_TTL)
end
track_adapter_call(A.call_id, A.adapter)
redis.call('HINCRBY', queue_key(A.queue), 'offered:' .. DAY, 1)
log_call('call_offered', A.call_id)
-- A queue closed by its opening hours or full (max waiting calls) overflows the call at once.
local why = overflow_reason(A.queue, qc)
if why then
  local moved_to = overflow_call(A.call_id, A.queue, why)
  local place = moved_to and position_of(moved_to, A.call_id) or 0
  return finish({call = A.call_id, snap = hgetall(call_key(A.call_id)), position = place,
                 ewt_ms = moved_to and estimated_wait_ms(moved_to, place) or 0,
                 existing = false})
end
enqueue(A.queue, A.call_id, score)
arm_max_wait(A.call_id, qc)
local position = position_of(A.queue, A.call_id)
log_call('call_queued', A.call_id, {position = position,
                                    ewt = estimated_wait_ms(A.queue, position)})
route_queue(A.queue, 4)
position = position_of(A.queue, A.call_id)
return finish({call = A.call_id, snap = hgetall(call_key(A.call_id)), position = position,
               ewt_ms = estimated_wait_ms(A.queue, position), existing = false})
