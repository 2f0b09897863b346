-- nsg-flow-ecs's mapping written as a Fluent Bit Lua filter: the alternative to the wasm filter
-- for a pipeline that cannot load WebAssembly, and the peer `npm run bench` measures it against.
--
--   [FILTER]
--       Name    lua
--       Match   nsg.*
--       script  examples/fluent-bit/nsg-flow-ecs.lua
--       call    nsg_flow_ecs
--
-- The record must be the flattened raw event (tail with the json parser, as fluent-bit.conf).
-- Same fields as the wasm filter (DEVELOPERS.md), with these differences, all of them because
-- Lua sees a decoded table and not the JSON text:
--   * `message` is the record encoded again as JSON: the same content as the raw event, but its
--     keys in Lua's table order, not the order of the line;
--   * no wrapped events ({"log": "<raw event>"} is not decoded here): they become error events;
--   * no JSON, UTF-8, size or depth validation (Fluent Bit's parser already decoded the line);
--   * counters above 2^53 lose precision (Lua numbers are doubles).

local find, sub, byte, format, gsub = string.find, string.sub, string.byte, string.format, string.gsub
local concat, floor, tostring, type, pairs = table.concat, math.floor, tostring, type, pairs

-- JSON encoding of the record for `message` ----------------------------------------------------

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function escape_char(c)
  return escapes[c] or format("\\u%04x", byte(c))
end

local function json_string(s)
  if find(s, '[%c"\\]') then s = gsub(s, '[%c"\\]', escape_char) end
  return '"' .. s .. '"'
end

local encode

local function is_array(t)
  local n = #t
  if n == 0 then return false end
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then return false end
  end
  return true
end

encode = function(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = json_string(v)
  elseif t == "number" then
    out[#out + 1] = (v == floor(v) and v > -1e15 and v < 1e15) and format("%d", v) or format("%.17g", v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      local first = true
      for k, x in pairs(v) do
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = json_string(tostring(k))
        out[#out + 1] = ":"
        encode(x, out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = "null"
  end
end

local function to_json(v)
  local out = {}
  encode(v, out)
  return concat(out)
end

-- Field checks -----------------------------------------------------------------------------------

local function text(v)
  if v == "" then return nil end
  return v
end

local function bad_type(v)
  return v ~= nil and type(v) ~= "string"
end

local function port_override(v)
  if v == nil or v == "" then return -1 end
  local n
  if type(v) == "number" then
    if v ~= floor(v) then return -2 end
    n = v
  elseif type(v) == "string" and find(v, "^%d%d?%d?%d?%d?$") then
    n = tonumber(v)
  else
    return -2
  end
  if n < 0 or n > 65535 then return -2 end
  return n
end

-- Tuple ------------------------------------------------------------------------------------------

local function split(s)
  local fields, n, start = {}, 0, 1
  while true do
    local comma = find(s, ",", start, true)
    n = n + 1
    if not comma then
      fields[n] = sub(s, start)
      return fields, n
    end
    fields[n] = sub(s, start, comma - 1)
    start = comma + 1
  end
end

local function is_ipv4(s)
  local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return false end
  for _, part in pairs({ a, b, c, d }) do
    if (#part > 1 and byte(part) == 48) or tonumber(part) > 255 then return false end
  end
  return true
end

local function is_ipv6(s)
  if #s < 2 or #s > 45 or not find(s, ":", 1, true) or find(s, "[^%x:%.]") then return false end
  local double = select(2, gsub(s, "::", "::"))
  if double > 1 or find(s, ":::", 1, true) then return false end
  local head = s
  local groups = 0
  local tail4 = s:match(":(%d+%.%d+%.%d+%.%d+)$")
  if tail4 then
    if not is_ipv4(tail4) then return false end
    head = sub(s, 1, #s - #tail4)
    if sub(head, -2) ~= "::" then head = sub(head, 1, -2) end
    groups = 2
  elseif find(s, ".", 1, true) then
    return false
  end
  if head ~= "::" then
    local body = gsub(gsub(head, "^::", ""), "::$", "")
    for g in (body .. ":"):gmatch("([^:]*):") do
      if g == "" then
        if double == 0 then return false end
      elseif #g > 4 then
        return false
      else
        groups = groups + 1
      end
    end
  end
  if double == 1 then return groups <= 7 end
  return groups == 8
end

local function is_ip(s)
  return is_ipv4(s) or is_ipv6(s)
end

local function port(s)
  if not find(s, "^%d%d?%d?%d?%d?$") then return nil end
  local n = tonumber(s)
  if n > 65535 then return nil end
  return n
end

local function counter(s)
  if s == "" then return nil, true end
  if not find(s, "^%d+$") or #s > 20 then return nil, false end
  return tonumber(s), true
end

-- The five fields both shapes open with, and the four counters: nil when not the documented shape.
local function parse_common(f, counters_at)
  local t = {}
  if not find(f[1], "^%d+$") or #f[1] > 19 then return nil end
  t.epoch = tonumber(f[1])
  if not is_ip(f[2]) or not is_ip(f[3]) then return nil end
  t.src, t.dst = f[2], f[3]
  t.sport, t.dport = port(f[4]), port(f[5])
  if not t.sport or not t.dport then return nil end
  if counters_at then
    local ok
    t.spackets, ok = counter(f[counters_at]); if not ok then return nil end
    t.sbytes, ok = counter(f[counters_at + 1]); if not ok then return nil end
    t.dpackets, ok = counter(f[counters_at + 2]); if not ok then return nil end
    t.dbytes, ok = counter(f[counters_at + 3]); if not ok then return nil end
  end
  return t
end

local function parse_nsg_tuple(s)
  local f, n = split(s)
  if n ~= 8 and n ~= 13 then return nil end
  local t = parse_common(f, n == 13 and 10 or nil)
  if not t then return nil end
  t.proto, t.dir, t.decision = f[6], f[7], f[8]
  if (t.proto ~= "T" and t.proto ~= "U") or (t.dir ~= "I" and t.dir ~= "O") or (t.decision ~= "A" and t.decision ~= "D") then return nil end
  if n == 13 and f[9] ~= "" then
    if f[9] ~= "B" and f[9] ~= "C" and f[9] ~= "E" then return nil end
    t.state = f[9]
  end
  return t
end

local function parse_vnet_tuple(s)
  local f, n = split(s)
  if n ~= 13 then return nil end
  local t = parse_common(f, 10)
  if not t then return nil end
  if not find(f[6], "^%d%d?%d?$") then return nil end
  t.proto, t.dir, t.state, t.encryption = f[6], f[7], f[8], f[9]
  if t.dir ~= "I" and t.dir ~= "O" then return nil end
  if t.state ~= "B" and t.state ~= "C" and t.state ~= "E" and t.state ~= "D" then return nil end
  if t.encryption == "" then return nil end
  if t.epoch > 253402300799999 then return nil end
  return t
end

-- Time -------------------------------------------------------------------------------------------

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  if m == 4 or m == 6 or m == 9 or m == 11 then return 30 end
  return 31
end

local function iso(secs, micros)
  local s = os.date("!%Y-%m-%dT%H:%M:%S", secs)
  if micros ~= 0 then s = s .. format(".%06d", micros) end
  return s .. "Z"
end

-- `time` as the ECS timestamp (UTC, fraction truncated to microseconds), or nil.
local function parse_time(s)
  local y, mo, d, sep, h, mi, se, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)([T ])(%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, se = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(se)
  if y < 1 or mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) or h > 23 or mi > 59 or se > 59 then return nil end
  local micros = 0
  local frac, zone = rest:match("^%.(%d+)(.*)$")
  if frac then
    micros = tonumber(sub(frac .. "00000", 1, 6))
    rest = zone
  end
  local offset = 0
  if rest == "Z" or rest == "z" or rest == "" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    oh, om = tonumber(oh), tonumber(om)
    if oh > 23 or om > 59 then return nil end
    offset = (oh * 60 + om) * 60
    if sign == "-" then offset = -offset end
  end
  local secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset
  if secs < -62135596800 or secs > 253402300799 then return nil end
  return iso(secs, micros)
end

-- The events -------------------------------------------------------------------------------------

local function error_event(record, kind, why)
  return { message = to_json(record), error = { type = kind, message = why }, event = { kind = "pipeline_error" } }
end

local function endpoint(ip, port_number, packets, bytes, mac)
  local e = {}
  if ip then e.ip = ip; e.address = ip end
  if port_number then e.port = port_number end
  if mac then e.mac = mac end
  if packets then e.packets = packets end
  if bytes then e.bytes = bytes end
  if next(e) == nil then return nil end
  return e
end

local function related(src, dst)
  if src and dst and src ~= dst then return { ip = { src, dst } } end
  if src or dst then return { ip = { src or dst } } end
  return nil
end

local STRING_FIELDS = { "macAddress", "operationName", "rule", "time", "flow.0" }

local function map_nsg(r, message)
  for _, k in pairs({ "flow_state", "source_addr", "destination_addr" }) do
    if bad_type(r[k]) then return nil, "invalid_field", "field \"" .. k .. "\" must be a string or null" end
  end
  local version = r.version
  if type(version) == "number" and version == floor(version) and version >= 0 then
    version = format("%d", version)
  elseif bad_type(version) then
    return nil, "invalid_field", "field \"version\" must be a string, an integer written with digits only, or null"
  end
  local sport, dport = port_override(r.source_port), port_override(r.destination_port)
  if sport == -2 or dport == -2 then
    return nil, "invalid_field", "field \"" .. (sport == -2 and "source_port" or "destination_port") ..
      "\" must be an integer 0-65535, a string of 1-5 digits up to 65535, \"\" or null"
  end
  local t = text(r["flow.0"]) and parse_nsg_tuple(r["flow.0"])
  local ts
  if text(r.time) then
    ts = parse_time(r.time)
    if not ts then return nil, "invalid_time", "cannot parse time \"" .. r.time .. "\"" end
  elseif t and t.epoch <= 253402300799 then
    ts = iso(t.epoch, 0)
  else
    return nil, "no_timestamp", "no \"time\" and no epoch from a documented \"flow.0\" tuple"
  end
  local operation, rule = text(r.operationName), text(r.rule)
  local event = { category = { "network" }, code = operation, start = ts }
  local action = { target = "network-traffic", type = rule }
  local properties = { OperationName = operation, Version = text(version), FlowState = text(r.flow_state) }
  local ecs = { ["@timestamp"] = ts, message = message, event = event, action = action }
  if rule then ecs.rule = { name = rule } end
  local src, dst, s, d = nil, nil, {}, {}
  if t then
    local verb = t.decision == "A" and "accept" or "reject"
    event.action, event.outcome, event.type = verb, "success", { t.decision == "A" and "allowed" or "denied" }
    action.name, action.outcome = verb, "success"
    if t.state then properties.FlowState = t.state == "B" and "begin" or t.state == "C" and "continue" or "end" end
    ecs.network = { transport = t.proto == "T" and "tcp" or "udp", direction = t.dir == "I" and "inbound" or "outbound" }
    src, dst = t.src, t.dst
    s.port, d.port = t.sport, t.dport
    s.packets, s.bytes, d.packets, d.bytes = t.spackets, t.sbytes, t.dpackets, t.dbytes
  end
  if next(properties) ~= nil then action.properties = properties end
  src = text(r.source_addr) or src
  dst = text(r.destination_addr) or dst
  if sport >= 0 then s.port = sport end
  if dport >= 0 then d.port = dport end
  ecs.source = endpoint(src, s.port, s.packets, s.bytes, text(r.macAddress))
  ecs.destination = endpoint(dst, d.port, d.packets, d.bytes)
  ecs.related = related(src, dst)
  return ecs
end

local VNET_TYPES = { B = "start", C = "info", E = "end", D = "denied" }

local function map_vnet(r, message)
  local t = text(r["flow.0"]) and parse_vnet_tuple(r["flow.0"])
  local ts
  if text(r.time) then
    ts = parse_time(r.time)
    if not ts then return nil, "invalid_time", "cannot parse time \"" .. r.time .. "\"" end
  end
  if t then
    ts = iso(floor(t.epoch / 1000), (t.epoch % 1000) * 1000)
  elseif not ts then
    return nil, "no_timestamp", "no epoch from a documented \"flow.0\" tuple and no \"time\""
  end
  local operation = text(r.operationName)
  local event = { category = { "network" }, code = operation }
  local action = { target = "network-traffic" }
  local ecs = { ["@timestamp"] = ts, message = message, event = event, action = action }
  if operation then action.properties = { OperationName = operation } end
  if text(r.rule) then ecs.rule = { name = r.rule } end
  if text(r.macAddress) then ecs.observer = { mac = r.macAddress } end
  if t then
    event.type = { VNET_TYPES[t.state] }
    action.properties = action.properties or {}
    action.properties.FlowEncryption = t.encryption
    ecs.network = { direction = t.dir == "I" and "inbound" or "outbound", iana_number = t.proto }
    ecs.source = endpoint(t.src, t.sport, t.spackets, t.sbytes)
    ecs.destination = endpoint(t.dst, t.dport, t.dpackets, t.dbytes)
    ecs.related = related(t.src, t.dst)
  end
  return ecs
end

function nsg_flow_ecs(tag, timestamp, record)
  local message = to_json(record)
  for _, k in pairs(STRING_FIELDS) do
    if bad_type(record[k]) then
      return 2, timestamp, error_event(record, "invalid_field", "field \"" .. k .. "\" must be a string or null")
    end
  end
  local vnet = record.flowLogVersion ~= nil or record.operationName == "FlowLogFlowEvent"
  local ecs, kind, why
  if vnet then ecs, kind, why = map_vnet(record, message) else ecs, kind, why = map_nsg(record, message) end
  if not ecs then return 2, timestamp, error_event(record, kind, why) end
  return 2, timestamp, ecs
end
