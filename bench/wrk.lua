-- wrk script for bench/run: builds the requests and counts the answers by envelope.
--
-- Environment (wrk gives a script no other way to be told things in done()):
--   BENCH_MODE   get        GET BENCH_PATH (healthz)
--                random     POST BENCH_PATH, body BENCH_BODY with %s replaced by a random ssid
--                breakpair  POST startBreak / endBreak in turn for each agent of the thread's
--                           own slice of BENCH_SSIDS ("agentId ssid" lines), so that every
--                           answer is a real success: never two requests in flight for one
--                           agent, and the next one follows the agent's state as last answered
--   BENCH_PATH   the route (random, get)
--   BENCH_BODY   e.g. {"ssid":"%s"} (random)
--   BENCH_SSIDS  file of ssids, one per line (random, breakpair)
--   BENCH_THREADS  wrk -t (breakpair)
--   BENCH_OUT    file where done() writes the result as JSON
--
-- An answer is counted as "success" (HTTP 200, {"status":"success",...}), "e<code>" (HTTP 200
-- with the error envelope {"status":"error",...,"code":N}), "hello" (HTTP 200, body exactly
-- "hello": bench/hello, the floor), "http<status>" (any other HTTP status) or "other" (HTTP
-- 200 with a body that is none of these).

local mode = os.getenv("BENCH_MODE") or "get"
local path = os.getenv("BENCH_PATH") or "/healthz"
local body_tmpl = os.getenv("BENCH_BODY") or '{"ssid":"%s"}'
local ssid_file = os.getenv("BENCH_SSIDS")
local out_file = os.getenv("BENCH_OUT")

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local function read_lines(file)
  local lines = {}
  local f = assert(io.open(file, "r"), "cannot open " .. tostring(file))
  for line in f:lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

local reqs = {}    -- random: one prepared request per ssid
local slice = {}   -- breakpair: this thread's agents
local by_agent = {} -- breakpair: agentId -> its slice entry
local cursor = 0
counts = {}

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  local headers = { ["Content-Type"] = "application/json" }
  if mode == "random" then
    for _, ssid in ipairs(read_lines(ssid_file)) do
      reqs[#reqs + 1] = wrk.format("POST", path, headers, string.format(body_tmpl, ssid))
    end
    assert(#reqs > 0, "no ssids in " .. ssid_file)
  elseif mode == "breakpair" then
    -- Thread t of T takes lines t, t+T, t+2T...: slices are disjoint, so no two threads ever
    -- act on the same agent.
    local all = read_lines(ssid_file)
    local n = tonumber(os.getenv("BENCH_THREADS") or "1")
    for i = tid, #all, n do
      local agent, ssid = string.match(all[i], "^(%S+) (%S+)$")
      assert(agent, "bad line in " .. ssid_file .. ": " .. all[i])
      local b = string.format('{"ssid":"%s","reason":"break"}', ssid)
      local e = string.format('{"ssid":"%s"}', ssid)
      slice[#slice + 1] = {
        agent = agent,
        on_break = false, -- seeded off break; then as the last answer said
        busy = false,     -- a request for this agent is in flight
        start = wrk.format("POST", "/api/v2/agentProfile/startBreak", headers, b),
        stop = wrk.format("POST", "/api/v2/agentProfile/endBreak", headers, e),
      }
      by_agent[agent] = slice[#slice]
    end
    assert(#slice > 0, "no agents for thread " .. tid)
  else
    reqs[1] = wrk.format("GET", path)
  end
end

function request()
  if mode == "random" then
    return reqs[math.random(#reqs)]
  elseif mode == "breakpair" then
    -- the next agent with nothing in flight (a slice is several times the connections)
    for _ = 1, #slice do
      cursor = cursor % #slice + 1
      if not slice[cursor].busy then break end
    end
    local a = slice[cursor]
    a.busy = true
    if a.on_break then return a.stop end
    return a.start
  end
  return reqs[1]
end

local function kind(status, body)
  if status ~= 200 then return "http" .. status end
  if body == nil then return "other" end
  if body == "hello" then return "hello" end
  if string.sub(body, 1, 20) == '{"status":"success",' then return "success" end
  local code = string.match(body, '^{"status":"error","message":".-","code":(%d+)}$')
  if code then return "e" .. code end
  return "other"
end

function response(status, headers, body)
  local k = kind(status, body)
  counts[k] = (counts[k] or 0) + 1
  if mode == "breakpair" and k == "success" then
    -- startBreak answers "on_break":1, endBreak "on_break":0, both with the agent's id
    local on, agent = string.match(body, '"on_break":(%d).*"agent_id":"([^"]+)"')
    local a = agent and by_agent[agent]
    if a then
      a.on_break = on == "1"
      a.busy = false
    else
      counts["unparsed"] = (counts["unparsed"] or 0) + 1
    end
  end
  -- an error leaves its agent busy: it is not asked again, and the error is reported
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
  end
  local e = summary.errors
  local json = string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"non_2xx":%d,"counts":%s}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, e.status,
    json_counts(total))
  if out_file then
    local f = assert(io.open(out_file, "w"))
    f:write(json, "\n")
    f:close()
  else
    io.write(json, "\n")
  end
end
