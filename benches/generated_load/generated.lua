-- The requests of `lsconform run --generated N --seed S`, each sent once, by wrk: the load
-- generator's side of benches/generated_load.sh. examples/generated_requests.rs writes them right
-- before the run (wrk's Lua cannot compute HMAC-SHA256).
--
--   wrk -t T -c C -d 600s -s generated.lua URL -- REQUESTS.tsv T DIR
-- REQUESTS.tsv: lines `Date<TAB>Authorization<TAB>Content-Type<TAB>hex body`; thread i of T sends
-- lines i+1, i+1+T, …, and once it has their answers, stops and writes the file DIR/done.<i> (wrk
-- itself runs until -d or SIGINT, which the shell script sends when every thread is done). A
-- connection that asks for a request after its thread's share is sent gets a GET of an unknown path
-- (404; counted in `wrapped`, which benches/server_load/report.lua prints), so that no request is
-- sent twice.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../server_load/report.lua")

local requests = {}
local next_index = 0
local answered = 0
local filler
local done_file
-- wrk calls request() once on thread 0 before the run, to check the request (and never sends it).
local verifying = false
sent = 0
wrapped = 0

local function unhex(h)
   return (h:gsub("%x%x", function(byte) return string.char(tonumber(byte, 16)) end))
end

function init(args)
   local path = assert(args[1], "usage: -- REQUESTS.tsv THREADS DIR")
   local nthreads = assert(tonumber(args[2]), "usage: -- REQUESTS.tsv THREADS DIR")
   done_file = assert(args[3], "usage: -- REQUESTS.tsv THREADS DIR") .. "/done." .. id
   verifying = id == 0
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == id then
         local date, authorization, content_type, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(%x*)$")
         assert(body, "not a Date<TAB>Authorization<TAB>Content-Type<TAB>hex line")
         local headers = { ["Date"] = date, ["Authorization"] = authorization }
         if content_type ~= "" then
            headers["Content-Type"] = content_type
         end
         requests[#requests + 1] = wrk.format("POST", "/api/v4/activate_offline", headers, unhex(body))
      end
      n = n + 1
   end
   assert(#requests > 0, "no request for this thread")
   filler = wrk.format("GET", "/lsconform-bench-done")
end

function request()
   if verifying then
      verifying = false
      return requests[1]
   end
   next_index = next_index + 1
   if next_index > #requests then
      wrapped = wrapped + 1
      return filler
   end
   sent = sent + 1
   return requests[next_index]
end

function response(status)
   -- Every generated request goes to the endpoint: only the filler is answered 404.
   if status ~= 404 then
      answered = answered + 1
      if answered == #requests then
         wrk.thread:stop()
         local f = assert(io.open(done_file, "w"))
         f:close()
      end
   end
end
