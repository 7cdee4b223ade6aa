-- One fixed request, sent again and again (wrk's static mode: no Lua per request):
-- POST with a request file as body, Content-Type text/plain and an Authorization header, and
-- no Date header, so the reference server answers 400 missing_headers (SPEC §1a) after reading
-- the body. The same request is sent to the bare axum server for the ceiling.
--
--   wrk -s static_post.lua URL -- REQUESTS.tsv
-- REQUESTS.tsv: lines `Date<TAB>Authorization<TAB>body` (examples/gen_activations.rs); the first
-- line's Authorization and body are used, its Date is left out.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function init(args)
   local file = assert(io.open(assert(args[1], "usage: -- REQUESTS.tsv"), "r"))
   local line = file:read("*l")
   file:close()
   local _, authorization, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
   assert(body, "not a Date<TAB>Authorization<TAB>body line")
   wrk.method = "POST"
   wrk.headers["Authorization"] = authorization
   wrk.headers["Content-Type"] = "text/plain"
   wrk.body = body
end
