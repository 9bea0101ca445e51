package redisbroker

import "github.com/redis/go-redis/v9"

// The broker's writes to a topic's stream are Lua scripts, so that each is
// atomic: adding and trimming, checking a duplicate and adding, deciding a
// resume and reading the history are each one step for Redis.
//
// A topic's stream keeps, in its max-deleted-entry-id (set with XSETID),
// the horizon of its history: resuming after an id before it might miss an
// event, resuming after any later id up to last-generated-id misses none.
// Entries are removed oldest first, so the horizon is the oldest entry kept
// once any was removed (or the last id, when none is kept), and a stream
// starts with its horizon at its first id: nothing before a stream existed
// is known, not even whether an older stream of the same key was deleted.
const scriptLib = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end

local function trimAge(stream, maxAge)
  if maxAge <= 0 then return 0 end
  local t = redis.call('TIME')
  local min = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxAge
  if min <= 0 then return 0 end
  return redis.call('XTRIM', stream, 'MINID', string.format('%.0f', min) .. '-0')
end

local function keepHorizon(stream, last)
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  local h = last
  if #first > 0 then h = first[1][1] end
  redis.call('XSETID', stream, last, 'MAXDELETEDID', h)
  return h
end
`

// publishScript adds an event to the stream KEYS[1] and trims the history.
// With KEYS[2], the duplicate key of a Keyed event, it first returns the id
// stored there, if any, and otherwise stores the new id there for the
// duplicate window. ARGV: MaxEvents (0: none), MaxAge in ms (0: none), the
// duplicate window in ms, then the entry's field-value pairs. It returns
// {id, 1 if a duplicate else 0}.
var publishScript = redis.NewScript(scriptLib + `
local stream, dup = KEYS[1], KEYS[2]
local maxEvents, maxAge = tonumber(ARGV[1]), tonumber(ARGV[2])
if dup then
  local id = redis.call('GET', dup)
  if id then return {id, 1} end
end
local born = redis.call('EXISTS', stream) == 0
local id = redis.call('XADD', stream, '*', unpack(ARGV, 4))
local removed = 0
if maxEvents > 0 then removed = redis.call('XTRIM', stream, 'MAXLEN', maxEvents) end
removed = removed + trimAge(stream, maxAge)
if born then
  redis.call('XSETID', stream, id, 'MAXDELETEDID', id)
elseif removed > 0 then
  keepHorizon(stream, id)
end
if maxAge > 0 then redis.call('PEXPIRE', stream, maxAge) end
if dup then redis.call('SET', dup, id, 'PX', ARGV[3]) end
return {id, 0}
`)

// historyScript decides whether a subscriber that has had the events of
// the stream KEYS[1] up to ARGV[2] can resume without missing one, and if so
// reads the next of them, up to ARGV[3] (inclusive) and at most ARGV[4].
// ARGV[1] is MaxAge in ms (0: none), whose expired events it removes first;
// an empty ARGV[2] asks for a reset. It returns {"events", entries}, or
// {"reset", id} with the id to resume from: the newest entry kept, or the
// last id when none is. A topic without a stream gets one, empty, so that
// the reset's id is a position later events follow without another reset.
var historyScript = redis.NewScript(scriptLib + `
local stream = KEYS[1]
local maxAge, pos = tonumber(ARGV[1]), ARGV[2]
if redis.call('EXISTS', stream) == 0 then
  local id = redis.call('XADD', stream, '*', 'data', '')
  redis.call('XTRIM', stream, 'MAXLEN', 0)
  redis.call('XSETID', stream, id, 'MAXDELETEDID', id)
  if maxAge > 0 then redis.call('PEXPIRE', stream, maxAge) end
  return {'reset', id}
end
local removed = trimAge(stream, maxAge)
local info = redis.call('XINFO', 'STREAM', stream)
local last, horizon, newest
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'last-generated-id' then last = info[i + 1]
  elseif k == 'max-deleted-entry-id' then horizon = info[i + 1]
  elseif k == 'last-entry' and info[i + 1] then newest = info[i + 1][1]
  end
end
if removed > 0 then
  horizon = keepHorizon(stream, last)
end
if pos == '' or before(pos, horizon) or before(last, pos) then
  return {'reset', newest or last}
end
return {'events', redis.call('XRANGE', stream, '(' .. pos, ARGV[3], 'COUNT', ARGV[4])}
`)

// lastIDScript returns the last id of the stream KEYS[1], "0-0" when there
// is no stream: the position a live reader starts after.
var lastIDScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return redis.error_reply('XINFO STREAM without last-generated-id')
`)
