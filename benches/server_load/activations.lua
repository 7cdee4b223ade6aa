-- Correctly signed activations, each sent once: every request its own hardware id, request id,
-- Date and Authorization header, read from a file that examples/gen_activations.rs wrote right
-- before the run (wrk's Lua cannot compute HMAC-SHA256).
--
--   wrk -t T -s activations.lua URL -- REQUESTS.tsv T
-- REQUESTS.tsv: lines `Date<TAB>Authorization<TAB>body`; thread i of T sends lines i+1, i+1+T, ….
-- Should a thread run out, it starts its share again and counts `wrapped` (the answers are then
-- replays, SPEC §5.5, which the shell script reports loudly).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local requests = {}
local next_index = 0
sent = 0
wrapped = 0

function init(args)
   local path = assert(args[1], "usage: -- REQUESTS.tsv THREADS")
   local nthreads = assert(tonumber(args[2]), "usage: -- REQUESTS.tsv THREADS")
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == id then
         local date, authorization, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
         assert(body, "not a Date<TAB>Authorization<TAB>body line")
         requests[#requests + 1] = wrk.format("POST", nil, {
            ["Date"] = date,
            ["Authorization"] = authorization,
            ["Content-Type"] = "text/plain",
         }, body)
      end
      n = n + 1
   end
   assert(#requests > 0, "no request for this thread")
end

function request()
   next_index = next_index + 1
   if next_index > #requests then
      next_index = 1
      wrapped = wrapped + 1
   end
   sent = sent + 1
   return requests[next_index]
end
