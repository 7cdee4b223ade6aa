-- The requests of `lsconform run --generated N --seed S`, each sent once, by wrk, with the seat
-- give-backs the suite sends: the load generator's side of benches/generated_load.sh.
-- examples/generated_requests.rs writes them right before the run (wrk's Lua cannot compute
-- HMAC-SHA256).
--
--   wrk -t T -c T -d 600s -s generated.lua URL -- REQUESTS.tsv T DIR
-- REQUESTS.tsv: lines `Date<TAB>Authorization<TAB>Content-Type<TAB>hex body`, and for an accepted
-- activation four columns more: the deactivate_offline request that gives its seat back, sent
-- (like the suite does) right after the activation is answered 200. That needs each thread's
-- requests and answers in order: one connection a thread (-c equal to -t). Thread i of T sends
-- lines i+1, i+1+T, …, and once it has their answers, stops and writes the file DIR/done.<i>
-- holding the monotonic clock's seconds at its first request and at its last answer (wrk itself
-- runs until -d or SIGINT, which the shell script sends when every thread is done; its own
-- duration starts only once every thread's init has run, so the script times the run itself).
-- No thread sends before every thread's init has read the file: the last one's writes DIR/go. A
-- request asked for after the thread's share is sent is a GET of an unknown path (404; counted in
-- `wrapped`, which benches/server_load/report.lua prints), so that no request is sent twice;
-- the give-backs sent are counted in `given_back`.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../server_load/report.lua")

local ffi = require("ffi")
ffi.cdef([[
struct lsconform_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock, struct lsconform_timespec *t);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct lsconform_timespec")
local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local requests = {}
-- give_backs[i]: the give-back of requests[i], if it has one.
local give_backs = {}
local next_index = 0
local answered = 0
local filler
local done_file
local go_file
local first_request
local started = false
-- The give-back to send next (its activation was just answered 200), and what was sent last.
local pending
local last_sent
-- wrk calls request() once on thread 0 before the run, to check the request (and never sends it).
local verifying = false
sent = 0
wrapped = 0
given_back = 0

local function unhex(h)
   return (h:gsub("%x%x", function(byte) return string.char(tonumber(byte, 16)) end))
end

local function post(path, date, authorization, content_type, body)
   local headers = { ["Date"] = date, ["Authorization"] = authorization }
   if content_type ~= "" then
      headers["Content-Type"] = content_type
   end
   return wrk.format("POST", path, headers, unhex(body))
end

function init(args)
   local path = assert(args[1], "usage: -- REQUESTS.tsv THREADS DIR")
   local nthreads = assert(tonumber(args[2]), "usage: -- REQUESTS.tsv THREADS DIR")
   local dir = assert(args[3], "usage: -- REQUESTS.tsv THREADS DIR")
   done_file = dir .. "/done." .. id
   go_file = dir .. "/go"
   verifying = id == 0
   local n = 0
   local field = "([^\t]*)\t([^\t]*)\t([^\t]*)\t(%x*)"
   for line in io.lines(path) do
      if n % nthreads == id then
         local d, a, c, b, gd, ga, gc, gb = line:match("^" .. field .. "\t" .. field .. "$")
         if not d then
            d, a, c, b = line:match("^" .. field .. "$")
         end
         assert(b, "not a Date<TAB>Authorization<TAB>Content-Type<TAB>hex line (twice for a give-back)")
         requests[#requests + 1] = post("/api/v4/activate_offline", d, a, c, b)
         if gb then
            give_backs[#requests] = post("/api/v4/deactivate_offline", gd, ga, gc, gb)
         end
      end
      n = n + 1
   end
   assert(#requests > 0, "no request for this thread")
   filler = wrk.format("GET", "/lsconform-bench-done")
   if id == nthreads - 1 then
      assert(io.open(go_file, "w")):close()
   end
end

-- Waits (once) until every thread's init has run.
local function wait_for_the_others()
   while true do
      local f = io.open(go_file, "r")
      if f then
         f:close()
         return
      end
   end
end

function request()
   if verifying then
      verifying = false
      return requests[1]
   end
   if not started then
      wait_for_the_others()
      started = true
      first_request = now()
   end
   if pending then
      local r = pending
      pending = nil
      last_sent = nil
      given_back = given_back + 1
      return r
   end
   next_index = next_index + 1
   if next_index > #requests then
      wrapped = wrapped + 1
      last_sent = nil
      return filler
   end
   sent = sent + 1
   last_sent = next_index
   return requests[next_index]
end

function response(status)
   -- The generated requests and their give-backs go to the endpoints: only the filler is 404.
   if last_sent then
      if status == 200 and give_backs[last_sent] then
         pending = give_backs[last_sent]
      end
      answered = answered + 1
      last_sent = nil
   end
   if answered == #requests and not pending then
      local last_answer = now()
      wrk.thread:stop()
      -- Written whole, then renamed: the script reads it as soon as it is there.
      local f = assert(io.open(done_file .. ".part", "w"))
      f:write(string.format("%.6f %.6f\n", first_request, last_answer))
      f:close()
      assert(os.rename(done_file .. ".part", done_file))
   end
end
