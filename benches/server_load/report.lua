-- Shared by the wrk scripts of benches/server_load.sh: registers each thread (setup) and prints
-- one machine-readable line at the end (done), which the shell script parses:
--   LSB requests=N seconds=S rps=R non2xx=N connect=N read=N write=N timeout=N p50_ms=X p99_ms=X
--       sent=N wrapped=N given_back=N
-- `sent`, `wrapped` and `given_back` are kept by scripts that hand out pre-generated requests
-- (activations.lua, generated.lua).

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function done(summary, latency, _)
   local sent, wrapped, given_back = 0, 0, 0
   for _, t in ipairs(threads) do
      sent = sent + (t:get("sent") or 0)
      wrapped = wrapped + (t:get("wrapped") or 0)
      given_back = given_back + (t:get("given_back") or 0)
   end
   local seconds = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "LSB requests=%d seconds=%.2f rps=%.1f non2xx=%d connect=%d read=%d write=%d timeout=%d"
         .. " p50_ms=%.2f p99_ms=%.2f sent=%d wrapped=%d given_back=%d\n",
      summary.requests, seconds, summary.requests / seconds, e.status, e.connect, e.read, e.write,
      e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000, sent, wrapped, given_back))
end
