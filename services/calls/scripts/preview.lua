-- Preview dialling: keeps an AVAILABLE operator out of inbound routing while they look at a
-- campaign entry (NOT_READY "campaign_preview"), or lets them go back to AVAILABLE.
-- ARGV[1]: {op, action (hold|release), changed_by}
-- Returns: {op, state}
local op = hgetall(op_key(A.op))
if op.team == nil then
  return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. A.op .. ' does not exist')
end
if A.action == 'hold' then
  if op.state ~= 'AVAILABLE' then
    return fail('FAILED_PRECONDITION', 'OPERATOR_NOT_AVAILABLE',
                'operator ' .. A.op .. ' is ' .. (op.state or 'OFFLINE'))
  end
  make_unavailable(A.op, op)
  set_operator_state(A.op, op, 'NOT_READY', 'campaign_preview')
elseif op.state == 'NOT_READY' and op.reason == 'campaign_preview' then
  set_operator_state(A.op, op, 'AVAILABLE', '')
  make_available(A.op, op)
  route_operator_queues(op)
end
return finish({op = A.op, state = op.state})
