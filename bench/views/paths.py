#!/usr/bin/env python3
"""The wrk script for one page of the view benchmark, from `portico bench-seed`'s
output: each request is one signed-in patient (their session cookie) opening
one of their own items, chosen at random.

    python3 bench/views/paths.py seed.json message > message.lua
    python3 bench/views/paths.py --action message     # the audit action it records
"""
import json
import sys

ACTIONS = {"bare": "none", "inbox": "inbox_viewed", "message": "thread_viewed", "statement": "eob_viewed"}

if sys.argv[1] == "--action":
    print(ACTIONS[sys.argv[2]])
    sys.exit(0)

seed = json.load(open(sys.argv[1]))
page = sys.argv[2]
pairs = []
for s in seed["sessions"]:
    cookie = "portico_session=" + s["cookie"]
    if page == "bare":
        pairs.append(("/ping", ""))
    elif page == "inbox":
        pairs.append(("/inbox", cookie))
    elif page == "message":
        pairs.extend((p, cookie) for p in s["threads"])
    elif page == "statement":
        pairs.extend((p, cookie) for p in s["statements"])
if not pairs:
    sys.exit(f"no {page} items in the seed")
print("local pages = {")
for path, cookie in pairs:
    print(f'  {{"{path}", "{cookie}"}},')
print("}")
print("""
math.randomseed(os.time())
request = function()
  local p = pages[math.random(#pages)]
  if p[2] == "" then
    return wrk.format("GET", p[1])
  end
  return wrk.format("GET", p[1], { ["Cookie"] = p[2] })
end
""")
