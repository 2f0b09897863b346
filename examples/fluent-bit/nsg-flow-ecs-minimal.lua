-- nsg-flow-ecs's mapping as the minimal Fluent Bit Lua filter most users would write: the
-- fields of DEVELOPERS.md and nothing else. On a valid event it writes the same ECS as the wasm
-- filter (checked through a real Fluent Bit on the benchmark corpus, tests/fluent-bit-lua.test.ts);
-- on anything else it does what its few lines happen to do. `npm run bench` measures it as the
-- "minimal Lua" row, next to the strict peer (nsg-flow-ecs.lua, which checks what the module checks
-- and writes the same error events).
--
--   [FILTER]
--       Name    lua
--       Match   nsg.*
--       script  examples/fluent-bit/nsg-flow-ecs-minimal.lua
--       call    nsg_flow_ecs
--
-- The record must be the flattened raw event (tail with the json parser). What it leaves out, on
-- purpose, because a user mapping trusted flow logs would: no type checks (a number where a string
-- belongs is used as it is), no tuple shape checks (the fields are taken by position), no IP, port,
-- counter or time validation, no error events, no wrapped events. `message` is the record encoded
-- again as JSON (keys in Lua's table order), built in one table and joined with one table.concat;
-- strings are escaped by a byte loop, which LuaJIT compiles (string.gsub with a function it does
-- not). Counters above 2^53 lose precision (Lua numbers are doubles).

local byte, sub, find, format = string.byte, string.sub, string.find, string.format
local concat, floor, tostring, type, pairs, tonumber = table.concat, math.floor, tostring, type, pairs, tonumber
local date = os.date

-- `message` ---------------------------------------------------------------------------------------

local ESCAPES = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r", [34] = '\\"', [92] = "\\\\" }

-- Appends the JSON string of s to out (from index n + 1); returns the new n.
local function put_string(out, n, s)
  n = n + 1
  out[n] = '"'
  local from = 1
  for i = 1, #s do
    local b = byte(s, i)
    if b < 32 or b == 34 or b == 92 then
      if i > from then n = n + 1; out[n] = sub(s, from, i - 1) end
      n = n + 1
      out[n] = ESCAPES[b] or format("\\u%04x", b)
      from = i + 1
    end
  end
  if from == 1 then
    out[n + 1] = s
    n = n + 1
  elseif from <= #s then
    n = n + 1
    out[n] = sub(s, from)
  end
  n = n + 1
  out[n] = '"'
  return n
end

local function to_json(record)
  local out, n = {}, 0
  for k, v in pairs(record) do
    n = n + 1
    out[n] = n == 1 and "{" or ","
    n = put_string(out, n, k)
    n = n + 1
    out[n] = ":"
    local t = type(v)
    if t == "string" then
      n = put_string(out, n, v)
    elseif t == "number" then
      n = n + 1
      out[n] = (v == floor(v) and v > -1e15 and v < 1e15) and format("%d", v) or format("%.17g", v)
    elseif t == "boolean" then
      n = n + 1
      out[n] = v and "true" or "false"
    else
      n = n + 1
      out[n] = "null"
    end
  end
  if n == 0 then return "{}" end
  out[n + 1] = "}"
  return concat(out)
end

-- Time ------------------------------------------------------------------------------------------

local function iso(secs, micros)
  if micros ~= 0 then return date("!%Y-%m-%dT%H:%M:%S", secs) .. format(".%06dZ", micros) end
  return date("!%Y-%m-%dT%H:%M:%SZ", secs)
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + floor((153 * mp + 2) / 5) + d - 1
  return era * 146097 + doe - 719468
end

-- "2024-03-18T00:00:00.4442280Z" → "2024-03-18T00:00:00.444228Z": UTC, microseconds, truncated.
local function timestamp(s)
  local frac, zone = s:match("^%.(%d+)(.*)$", 20)
  if not frac then zone = sub(s, 20) end
  local micros = frac and tonumber(sub(frac .. "00000", 1, 6)) or 0
  if zone == "Z" or zone == "z" or zone == "" then
    local head = sub(s, 1, 19)
    if byte(head, 11) ~= 84 then head = sub(head, 1, 10) .. "T" .. sub(head, 12) end
    if micros ~= 0 then return head .. format(".%06dZ", micros) end
    return head .. "Z"
  end
  local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
  local secs = days_from_civil(tonumber(sub(s, 1, 4)), tonumber(sub(s, 6, 7)), tonumber(sub(s, 9, 10))) * 86400 +
    tonumber(sub(s, 12, 13)) * 3600 + tonumber(sub(s, 15, 16)) * 60 + tonumber(sub(s, 18, 19))
  local offset = (tonumber(oh) * 60 + tonumber(om)) * 60
  return iso(sign == "-" and secs + offset or secs - offset, micros)
end

-- The event ---------------------------------------------------------------------------------------

local function split(s)
  local f, n, from = {}, 0, 1
  while true do
    local comma = find(s, ",", from, true)
    n = n + 1
    if not comma then
      f[n] = sub(s, from)
      return f, n
    end
    f[n] = sub(s, from, comma - 1)
    from = comma + 1
  end
end

local function nonempty(v)
  if v == "" then return nil end
  return v
end

local function endpoint(ip, port, packets, bytes)
  local e = {}
  if ip then e.ip = ip; e.address = ip end
  e.port = port
  e.packets = packets and tonumber(packets)
  e.bytes = bytes and tonumber(bytes)
  return e
end

local STATES = { B = "begin", C = "continue", E = "end" }
local VNET_TYPES = { B = "start", C = "info", E = "end", D = "denied" }

local function map_nsg(r, message)
  local f, n = split(r["flow.0"] or "")
  local operation, rule = nonempty(r.operationName), nonempty(r.rule)
  local version = r.version
  if type(version) == "number" then version = format("%d", version) end
  local properties = { OperationName = operation, Version = nonempty(version), FlowState = nonempty(r.flow_state) }
  local action = { target = "network-traffic", type = rule, properties = properties }
  local event = { category = { "network" }, code = operation }
  local ecs = { message = message, event = event, action = action }
  if rule then ecs.rule = { name = rule } end
  local src, dst, sport, dport, s, d = nil, nil, nil, nil, {}, {}
  if n >= 8 then
    local verb = f[8] == "A" and "accept" or "reject"
    event.action, event.outcome, event.type = verb, "success", { f[8] == "A" and "allowed" or "denied" }
    action.name, action.outcome = verb, "success"
    if n == 13 and f[9] ~= "" then properties.FlowState = STATES[f[9]] end
    ecs.network = { transport = f[6] == "T" and "tcp" or "udp", direction = f[7] == "I" and "inbound" or "outbound" }
    src, dst, sport, dport = f[2], f[3], tonumber(f[4]), tonumber(f[5])
    if n == 13 then
      s.packets, s.bytes, d.packets, d.bytes = nonempty(f[10]), nonempty(f[11]), nonempty(f[12]), nonempty(f[13])
    end
  end
  src = nonempty(r.source_addr) or src
  dst = nonempty(r.destination_addr) or dst
  local ov = nonempty(r.source_port)
  if ov then sport = tonumber(ov) end
  ov = nonempty(r.destination_port)
  if ov then dport = tonumber(ov) end
  local ts = nonempty(r.time) and timestamp(r.time) or iso(tonumber(f[1]), 0)
  ecs["@timestamp"], event.start = ts, ts
  ecs.source = endpoint(src, sport, s.packets, s.bytes)
  ecs.source.mac = nonempty(r.macAddress)
  ecs.destination = endpoint(dst, dport, d.packets, d.bytes)
  if src and dst and src ~= dst then ecs.related = { ip = { src, dst } }
  elseif src or dst then ecs.related = { ip = { src or dst } } end
  return ecs
end

local function map_vnet(r, message)
  local f = split(r["flow.0"] or "")
  local operation = nonempty(r.operationName)
  local ms = tonumber(f[1])
  local ecs = {
    ["@timestamp"] = iso(floor(ms / 1000), (ms % 1000) * 1000),
    message = message,
    event = { category = { "network" }, code = operation, type = { VNET_TYPES[f[8]] } },
    action = { target = "network-traffic", properties = { OperationName = operation, FlowEncryption = f[9] } },
    network = { direction = f[7] == "I" and "inbound" or "outbound", iana_number = f[6] },
    source = endpoint(f[2], tonumber(f[4]), nonempty(f[10]), nonempty(f[11])),
    destination = endpoint(f[3], tonumber(f[5]), nonempty(f[12]), nonempty(f[13])),
  }
  if nonempty(r.rule) then ecs.rule = { name = r.rule } end
  if nonempty(r.macAddress) then ecs.observer = { mac = r.macAddress } end
  if f[2] ~= f[3] then ecs.related = { ip = { f[2], f[3] } } else ecs.related = { ip = { f[2] } } end
  return ecs
end

function nsg_flow_ecs(tag, ts, record)
  local message = to_json(record)
  if record.flowLogVersion ~= nil or record.operationName == "FlowLogFlowEvent" then
    return 2, ts, map_vnet(record, message)
  end
  return 2, ts, map_nsg(record, message)
end
