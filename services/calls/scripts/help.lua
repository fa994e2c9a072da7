-- Help requests: an operator asks the supervisors for help, withdraws the request, or a
-- supervisor answers it.
-- ARGV[1]: {action (request|cancel|answer), help, op, call, reason, urgent, supervisor,
--           help_action, note, request_id, method, fingerprint}
-- Returns: {help, snap}
local earlier = replay()
if earlier then return earlier end
local help_key = key('help', A.help)
if A.action == 'request' then
  local op = hgetall(op_key(A.op))
  if op.team == nil then
    return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. A.op .. ' does not exist')
  end
  if (op.state or 'OFFLINE') == 'OFFLINE' then
    return fail('FAILED_PRECONDITION', 'OPERATOR_OFFLINE', 'operator ' .. A.op .. ' is OFFLINE')
  end
  if (op.help or '') ~= '' then
    return fail('FAILED_PRECONDITION', 'HELP_ALREADY_REQUESTED',
                'help request ' .. op.help .. ' is still open')
  end
  if (A.call or '') ~= '' and op.call ~= A.call then
    return fail('FAILED_PRECONDITION', 'NOT_YOUR_CALL',
                'call ' .. A.call .. ' is not handled by operator ' .. A.op)
  end
  hset(help_key, {state = 'OPEN', op = A.op, team = op.team, site = op.site or '',
                  call = A.call or '', reason = A.reason or '', urgent = A.urgent and 1 or 0,
                  t_create = NOW})
  redis.call('HSET', op_key(A.op), 'help', A.help)
  log_change('help_requested', {help = A.help, op = A.op, snap = hgetall(help_key)})
  return finish({help = A.help, snap = hgetall(help_key)})
end
local help = hgetall(help_key)
if help.state == nil then
  return fail('NOT_FOUND', 'HELP_REQUEST_NOT_FOUND', 'help request ' .. A.help .. ' does not exist')
end
if help.state ~= 'OPEN' then
  return fail('FAILED_PRECONDITION', 'HELP_REQUEST_CLOSED',
              'help request ' .. A.help .. ' is ' .. help.state ..
              ((help.supervisor or '') ~= '' and (' (answered by ' .. help.supervisor .. ')') or ''))
end
if A.action == 'cancel' then
  hset(help_key, {state = 'CANCELLED', t_close = NOW})
  redis.call('HSET', op_key(help.op), 'help', '')
  log_change('help_cancelled', {help = A.help, op = help.op, snap = hgetall(help_key)})
  return finish({help = A.help, snap = hgetall(help_key)})
end
local supervisor = hgetall(op_key(A.supervisor))
if supervisor.team == nil then
  return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'supervisor ' .. A.supervisor .. ' does not exist')
end
if supervisor.role ~= 'SUPERVISOR' and supervisor.role ~= 'ADMIN' then
  return fail('FAILED_PRECONDITION', 'NOT_SUPERVISOR',
              'operator ' .. A.supervisor .. ' is not a supervisor')
end
hset(help_key, {state = 'ANSWERED', supervisor = A.supervisor, action = A.help_action,
                note = A.note or '', t_close = NOW})
redis.call('HSET', op_key(help.op), 'help', '')
redis.call('EXPIRE', help_key, LIVE_TTL)
log_change('help_answered', {help = A.help, op = help.op, snap = hgetall(help_key)})
-- Listening, whispering and barging in happen on the media path: the call's adapter connects
-- the supervisor's endpoint (a MonitorCommand), while the call is connected.
local monitoring = A.help_action == 'HELP_ACTION_LISTEN' or
                   A.help_action == 'HELP_ACTION_WHISPER' or A.help_action == 'HELP_ACTION_BARGE'
if monitoring and (help.call or '') ~= '' and
    redis.call('HGET', call_key(help.call), 'state') == 'CONNECTED' then
  send_command(help.call, 'monitor', {supervisor = A.supervisor,
                                      endpoint = supervisor.endpoint or '', mode = A.help_action})
end
return finish({help = A.help, snap = hgetall(help_key)})
