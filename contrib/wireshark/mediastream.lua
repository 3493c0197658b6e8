-- mediastream.lua: a Wireshark / tshark dissector for ctsTraffic's
-- MediaStream protocol and mediastream's extension v1.
--
-- The layouts are those of docs/PROTOCOL.md (the Rust parsers in
-- crates/mediastream-core/src/wire/ are the reference). All integers are
-- little-endian.
--
-- Load it:
--   tshark -X lua_script:contrib/wireshark/mediastream.lua -r capture.pcapng
--   Wireshark: copy it into the personal Lua plugins folder
--   (Help > About Wireshark > Folders > Personal Lua Plugins,
--   ~/.local/lib/wireshark/plugins/ on Linux) and restart.
--
-- It is registered on the UDP ports of the preference "mediastream.udp_ports"
-- (default 4444; a range such as 4444,5000-5010) and as a heuristic
-- dissector on every UDP port (named "mediastream"; Wireshark can turn it
-- off under Analyze > Enabled Protocols), which claims a datagram only when
-- it has the exact shape of a MediaStream or v1 message.
--
-- Display filter fields: see the `fields` table below (mediastream.kind,
-- mediastream.data.seq, mediastream.v1.token, mediastream.report.* ...).

local ms = Proto("mediastream", "MediaStream (ctsTraffic) / mediastream v1")

-- Constants (docs/PROTOCOL.md)
local MAX_DATAGRAM = 65507
local CONNECTION_ID_LEN = 39
local GUID_LEN = 36
local V1_HEADER_LEN = 11
local TAG_LEN = 16
local COOKIE_LEN = 16
local REQUEST_LEN = 128
local CHALLENGE_LEN = V1_HEADER_LEN + COOKIE_LEN + TAG_LEN -- 43
local ACCEPT_LEN = V1_HEADER_LEN + GUID_LEN + TAG_LEN -- 63
local REPORT_LEN = V1_HEADER_LEN + 1 + 11 * 8 + TAG_LEN -- 116
-- A REPORT may carry blocks between its fixed fields and the tag (only
-- to a peer that announced it reads them), up to this length.
local REPORT_FIXED_END = REPORT_LEN - TAG_LEN -- 100
local MAX_REPORT_LEN = 736
-- REQUEST/JOIN: the media fields (frame-size model) and the feature byte.
local MEDIA_OFFSET = 59
local MEDIA_LEN = 32
local REQUEST_FEATURES_OFFSET = 111
local FLAG_FRAME_DATA = 0x3000
local END_LEN = V1_HEADER_LEN + 4 * 8 + TAG_LEN -- 59
local REFUSE_MIN_LEN = V1_HEADER_LEN + 2 + TAG_LEN -- 29
local V1_VERSION = 2

local FLAG_DATA = 0x0000
local FLAG_CONNECTION_ID = 0x1000
local FLAG_REQUEST = 0x2001
local FLAG_JOIN = 0x2002
local FLAG_ACCEPT = 0x2003
local FLAG_REFUSE = 0x2004
local FLAG_REPORT = 0x2005
local FLAG_END = 0x2006
local FLAG_CHALLENGE = 0x2007

local flag_names = {
    [FLAG_DATA] = "DATA",
    [FLAG_CONNECTION_ID] = "CONNECTION_ID",
    [FLAG_REQUEST] = "REQUEST",
    [FLAG_JOIN] = "JOIN",
    [FLAG_ACCEPT] = "ACCEPT",
    [FLAG_REFUSE] = "REFUSE",
    [FLAG_REPORT] = "REPORT",
    [FLAG_END] = "END",
    [FLAG_CHALLENGE] = "CHALLENGE",
}

local refuse_codes = {
    [1] = "bad parameters",
    [2] = "busy",
    [3] = "unsupported version",
    [4] = "direction not served",
    [5] = "rate limited",
}

------------------------------------------------------------------------
-- Fields
------------------------------------------------------------------------
local fields = {
    kind = ProtoField.string("mediastream.kind", "Message"),
    found_by = ProtoField.string("mediastream.found_by",
        "Found by (port: the UDP ports preference; heuristic: the datagram's shape)"),
    flag = ProtoField.uint16("mediastream.flag", "Flag", base.HEX, flag_names),
    start = ProtoField.string("mediastream.start", "START"),
    connection_id = ProtoField.string("mediastream.connection_id", "Connection id"),
    nul = ProtoField.uint8("mediastream.nul", "Terminating NUL", base.HEX),

    -- data header (every variant in data_variants uses these where it can)
    data_seq = ProtoField.int64("mediastream.data.seq", "Sequence number (frame)"),
    data_timestamp = ProtoField.int64("mediastream.data.timestamp", "Sender timestamp (ticks)"),
    data_frequency = ProtoField.int64("mediastream.data.frequency", "Sender frequency (ticks/s)"),
    data_sender_time = ProtoField.double("mediastream.data.sender_time", "Sender time (s, timestamp / frequency)"),
    data_payload = ProtoField.bytes("mediastream.data.payload", "Payload"),
    data_payload_len = ProtoField.uint32("mediastream.data.payload_len", "Payload length"),
    data_payload_ok = ProtoField.bool("mediastream.data.payload_ok", "Payload matches the pattern"),
    data_len = ProtoField.uint32("mediastream.data.len", "Datagram length"),
    data_datagrams = ProtoField.uint32("mediastream.data.datagrams",
        "Datagrams in this UDP packet (more than 1: a GSO send captured before segmentation)"),
    data_gso_size = ProtoField.uint32("mediastream.data.gso_size", "GSO segment size"),
    data_datagram = ProtoField.bytes("mediastream.data.datagram", "Datagram"),

    -- v1 header and tag
    v1_version = ProtoField.uint8("mediastream.v1.version", "Version"),
    v1_token = ProtoField.uint64("mediastream.v1.token", "Token", base.HEX),
    v1_tag = ProtoField.bytes("mediastream.v1.tag", "Tag"),
    v1_keyed = ProtoField.bool("mediastream.v1.keyed", "Tagged (keyed access; a zero tag means unkeyed)"),
    v1_cookie = ProtoField.bytes("mediastream.v1.cookie", "Cookie"),
    v1_has_cookie = ProtoField.bool("mediastream.v1.has_cookie", "Carries a cookie"),
    v1_padding = ProtoField.bytes("mediastream.v1.padding", "Padding"),
    v1_body = ProtoField.bytes("mediastream.v1.body", "Body (version not decoded)"),

    -- REQUEST / JOIN
    req_bps = ProtoField.uint64("mediastream.request.bits_per_second", "Bits per second"),
    req_fps = ProtoField.uint32("mediastream.request.frame_rate", "Frames per second"),
    req_len = ProtoField.uint32("mediastream.request.stream_length", "Stream length (s)"),
    req_dgram = ProtoField.uint32("mediastream.request.datagram_size", "Datagram size"),
    req_buffer = ProtoField.uint32("mediastream.request.buffer_depth_ms", "Buffer depth (ms)"),
    req_report = ProtoField.uint32("mediastream.request.report_interval_ms", "Report interval (ms)"),
    req_consent = ProtoField.uint32("mediastream.request.consent_timeout_ms", "Consent timeout (ms)"),

    -- REFUSE
    refuse_code = ProtoField.uint8("mediastream.refuse.code", "Code", base.DEC, refuse_codes),
    refuse_reason_len = ProtoField.uint8("mediastream.refuse.reason_len", "Reason length"),
    refuse_reason = ProtoField.string("mediastream.refuse.reason", "Reason", base.UNICODE),

    -- REPORT
    rep_flags = ProtoField.uint8("mediastream.report.flags", "Flags", base.HEX),
    rep_final = ProtoField.bool("mediastream.report.final", "Final", 8, nil, 0x01),
    rep_completed = ProtoField.uint64("mediastream.report.frames_completed", "Frames completed"),
    rep_dropped = ProtoField.uint64("mediastream.report.frames_dropped", "Frames dropped"),
    rep_repeated = ProtoField.uint64("mediastream.report.frames_repeated", "Frames repeated"),
    rep_error = ProtoField.uint64("mediastream.report.frames_error", "Error datagrams"),
    rep_dgrams = ProtoField.uint64("mediastream.report.datagrams_received", "Datagrams received"),
    rep_bytes = ProtoField.uint64("mediastream.report.bytes_received", "Bytes received"),
    rep_corrupt = ProtoField.uint64("mediastream.report.datagrams_corrupt", "Datagrams corrupt"),
    rep_highest = ProtoField.int64("mediastream.report.highest_seq", "Highest sequence number"),
    rep_echo_ts = ProtoField.int64("mediastream.report.echo_timestamp", "Echo timestamp (sender ticks)"),
    rep_echo_delay = ProtoField.int64("mediastream.report.echo_delay_ns", "Echo delay (ns)"),
    rep_jitter = ProtoField.uint64("mediastream.report.jitter_ns", "Jitter, RFC 3550 (ns)"),

    -- REQUEST / JOIN extensions: the frame-size model and features
    req_media_model = ProtoField.uint8("mediastream.request.media.model", "Frame-size model", base.DEC,
        { [0] = "none (plain data)", [1] = "cbr", [2] = "lognormal", [3] = "gop", [4] = "trace" }),
    req_media_flags = ProtoField.uint8("mediastream.request.media.flags", "Model flags", base.HEX),
    req_media_gop = ProtoField.uint32("mediastream.request.media.gop_interval", "GOP interval (frames or ms)"),
    req_media_ratio = ProtoField.uint32("mediastream.request.media.key_ratio_milli", "Key:delta size ratio (1/1000)"),
    req_media_var = ProtoField.uint32("mediastream.request.media.variation_milli", "Size variation cv (1/1000)"),
    req_media_stdev = ProtoField.uint64("mediastream.request.media.stdev_bps", "Log-normal stdev (bit/s)"),
    req_media_seed = ProtoField.uint64("mediastream.request.media.seed", "Seed", base.HEX),
    req_features = ProtoField.uint8("mediastream.request.features", "Features", base.HEX),
    req_feat_blocks = ProtoField.bool("mediastream.request.features.report_blocks",
        "Reads REPORT blocks", 8, nil, 0x01),

    -- REPORT blocks (marking: DSCP and ECN counts)
    rep_block = ProtoField.bytes("mediastream.report.block", "Block"),
    rep_block_type = ProtoField.uint8("mediastream.report.block.type", "Type", base.DEC, { [1] = "marking" }),
    rep_block_version = ProtoField.uint8("mediastream.report.block.version", "Version"),
    rep_block_len = ProtoField.uint16("mediastream.report.block.len", "Body length"),
    mark_read = ProtoField.uint64("mediastream.report.marking.read", "Data datagrams whose marking was read"),
    mark_not_ect = ProtoField.uint64("mediastream.report.marking.not_ect", "not-ECT"),
    mark_ect1 = ProtoField.uint64("mediastream.report.marking.ect1", "ECT(1)"),
    mark_ect0 = ProtoField.uint64("mediastream.report.marking.ect0", "ECT(0)"),
    mark_ce = ProtoField.uint64("mediastream.report.marking.ce", "CE"),
    mark_dscp = ProtoField.uint8("mediastream.report.marking.dscp", "DSCP"),
    mark_dscp_count = ProtoField.uint64("mediastream.report.marking.dscp_count", "Datagrams"),

    -- frame data (flag 0x3000)
    fd_frame_size = ProtoField.uint32("mediastream.data.frame_size", "Frame size (bytes)"),
    fd_index = ProtoField.uint32("mediastream.data.index", "Datagram index in the frame"),
    fd_kind = ProtoField.uint8("mediastream.data.frame_kind", "Frame kind", base.DEC,
        { [0] = "unknown", [1] = "key", [2] = "delta", [3] = "audio" }),
    fd_reserved = ProtoField.uint8("mediastream.data.reserved", "Reserved"),
    fd_key_back = ProtoField.uint32("mediastream.data.keyframe_distance", "Frames back to its keyframe"),

    -- END
    end_features = ProtoField.uint8("mediastream.end.features", "Features", base.HEX),
    end_frames = ProtoField.uint64("mediastream.end.frames_sent", "Frames sent"),
    end_dgrams = ProtoField.uint64("mediastream.end.datagrams_sent", "Datagrams sent"),
    end_bytes = ProtoField.uint64("mediastream.end.bytes_sent", "Bytes sent"),
    end_reserved = ProtoField.bytes("mediastream.end.reserved", "Reserved"),
}

local field_list = {}
for _, f in pairs(fields) do
    field_list[#field_list + 1] = f
end
ms.fields = field_list

local experts = {
    malformed = ProtoExpert.new("mediastream.malformed", "Malformed MediaStream datagram",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown = ProtoExpert.new("mediastream.unknown_flag", "Unknown MediaStream flag",
        expert.group.UNDECODED, expert.severity.WARN),
    payload = ProtoExpert.new("mediastream.payload_mismatch",
        "Payload differs from the MediaStream pattern (corrupted?)",
        expert.group.CHECKSUM, expert.severity.WARN),
    version = ProtoExpert.new("mediastream.v1.other_version", "v1 version not decoded",
        expert.group.UNDECODED, expert.severity.NOTE),
    implausible = ProtoExpert.new("mediastream.data.implausible",
        "Implausible data header (negative sequence number or frequency not above 0)",
        expert.group.PROTOCOL, expert.severity.WARN),
}
ms.experts = { experts.malformed, experts.unknown, experts.payload, experts.version, experts.implausible }

ms.prefs.udp_ports = Pref.range("UDP ports", "4444",
    "UDP ports always decoded as MediaStream (e.g. 4444,5000-5010); any other port is tried heuristically",
    65535)

------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------

-- The payload pattern: byte j is byte j of the little-endian u16 sequence
-- 0, 1, 2 ... 32767 (period 65536 bytes). Built once.
local pattern
local function payload_pattern()
    if not pattern then
        local raw = {}
        for i = 0, 32767 do
            raw[#raw + 1] = string.char(i % 256, math.floor(i / 256))
        end
        -- true: the string is the bytes themselves, not hex
        pattern = ByteArray.new(table.concat(raw), true)
    end
    return pattern
end

-- The first index (from 0) where the `len` bytes at `offset` differ from
-- the pattern, or nil when they match. Compared in chunks (fast), then
-- byte by byte inside the chunk that differs.
local CHUNK = 256
local function pattern_mismatch(tvb, offset, len)
    local pat = payload_pattern()
    local at = 0
    while at < len do
        local n = math.min(CHUNK, len - at)
        if tvb:range(offset + at, n):bytes() ~= pat:subset(at, n) then
            for i = 0, n - 1 do
                if tvb(offset + at + i, 1):uint() ~= pat:get_index(at + i) then
                    return at + i
                end
            end
        end
        at = at + n
    end
    return nil
end

local function is_hex(b)
    return (b >= 0x30 and b <= 0x39) or (b >= 0x41 and b <= 0x46) or (b >= 0x61 and b <= 0x66)
end

-- 36 characters xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits, either case)
local function is_guid(tvb, offset)
    if tvb:len() < offset + GUID_LEN then
        return false
    end
    for i = 0, GUID_LEN - 1 do
        local b = tvb(offset + i, 1):uint()
        if i == 8 or i == 13 or i == 18 or i == 23 then
            if b ~= 0x2d then
                return false
            end
        elseif not is_hex(b) then
            return false
        end
    end
    return true
end

local function all_zero(tvb, offset, len)
    for i = 0, len - 1 do
        if tvb(offset + i, 1):uint() ~= 0 then
            return false
        end
    end
    return true
end

local function hex_u64(range)
    return "0x" .. range:le_uint64():tohex()
end

-- The Info column; the protocol's tree item repeats it (see dissect).
local last_info = ""
local function set_info(pinfo, text)
    last_info = text
    pinfo.cols.info:set(text)
end

------------------------------------------------------------------------
-- Data header variants
--
-- One entry per data datagram layout, keyed by its flag. The base
-- protocol's DATA (flag 0x0000) is the only one today. A new variant (for
-- example a v1 DATA carrying frame size and frame type) is one more entry:
--   flag        = the u16 flag that selects it,
--   name        = shown as mediastream.kind and in the Info column,
--   header_len  = bytes before the payload,
--   header      = { {field, offset, size}, ... } added in order (add_le),
--   seq_offset, ts_offset, freq_offset = where the sequence number,
--                 sender timestamp and frequency are (for the Info column,
--                 the generated sender time and the heuristic),
--   heuristic   = optional extra check function(tvb, offset) -> bool
--                 for the header at offset (beyond flag, sequence number
--                 and frequency),
-- plus new ProtoFields in `fields` above for any new header field. The
-- payload after header_len is checked against the pattern, restarting at 0,
-- and GSO packets are split into datagrams with the same check. The
-- dispatcher (dissect, looks_like_mediastream) asks this table before the
-- v1 messages, so a data variant may take a flag of the v1 range
-- (0x2000..0x20ff) as long as no v1 message uses it.
------------------------------------------------------------------------
local data_variants = {
    [FLAG_FRAME_DATA] = {
        flag = FLAG_FRAME_DATA,
        name = "FRAME_DATA",
        header_len = 40,
        header = {
            { fields.flag, 0, 2 },
            { fields.data_seq, 2, 8 },
            { fields.data_timestamp, 10, 8 },
            { fields.data_frequency, 18, 8 },
            { fields.fd_frame_size, 26, 4 },
            { fields.fd_index, 30, 4 },
            { fields.fd_kind, 34, 1 },
            { fields.fd_reserved, 35, 1 },
            { fields.fd_key_back, 36, 4 },
        },
        seq_offset = 2,
        ts_offset = 10,
        freq_offset = 18,
    },
    [FLAG_DATA] = {
        flag = FLAG_DATA,
        name = "DATA",
        header_len = 26,
        header = {
            { fields.flag, 0, 2 },
            { fields.data_seq, 2, 8 },
            { fields.data_timestamp, 10, 8 },
            { fields.data_frequency, 18, 8 },
        },
        seq_offset = 2,
        ts_offset = 10,
        freq_offset = 18,
    },
}

-- A plausible data header at `offset`: the variant's flag, a sequence
-- number from 0 to 2^40 (frames count from 1; 2^40 is years at 10,000
-- frames/s) and a frequency from 1 Hz to 1 THz.
local function data_header_ok(tvb, offset, variant)
    if tvb:len() < offset + variant.header_len + 1 then
        return false
    end
    if tvb(offset, 2):le_uint() ~= variant.flag then
        return false
    end
    local seq = tvb(offset + variant.seq_offset, 8):le_int64()
    local freq = tvb(offset + variant.freq_offset, 8):le_int64()
    if seq < Int64(0) or seq > Int64(0, 256) then
        return false
    end
    if freq <= Int64(0) or freq > Int64(1000000000000) then
        return false
    end
    return variant.heuristic == nil or variant.heuristic(tvb, offset)
end

-- A sender using UDP GSO (Linux; mediastream sends a frame's datagrams in
-- one sendmsg) hands the kernel one large UDP packet that is cut into
-- datagrams of equal size (the last may be shorter) after the capture
-- point; on loopback a capture always sees it whole. The datagrams are
-- found where the payload pattern stops and another data header starts.
-- Returns a list of {offset, length} and whether every payload is intact.
local function split_data(tvb, variant)
    local len = tvb:len()
    local hl = variant.header_len
    local k = pattern_mismatch(tvb, hl, len - hl)
    if k == nil then
        return { { 0, len } }, true
    end
    local size = hl + k
    if k < 1 or not data_header_ok(tvb, size, variant) then
        return { { 0, len } }, false
    end
    local segments = {}
    local intact = true
    local at = 0
    while at < len do
        local n = math.min(size, len - at)
        if not data_header_ok(tvb, at, variant) then
            return { { 0, len } }, false
        end
        if at > 0 and pattern_mismatch(tvb, at + hl, n - hl) ~= nil then
            intact = false
        end
        segments[#segments + 1] = { at, n }
        at = at + n
    end
    return segments, intact
end

local function data_looks_right(tvb, variant)
    local len = tvb:len()
    if len > MAX_DATAGRAM or not data_header_ok(tvb, 0, variant) then
        return false
    end
    -- The first 32 payload bytes are the pattern, or a GSO boundary (the
    -- next datagram's header) comes first.
    local hl = variant.header_len
    local k = pattern_mismatch(tvb, hl, math.min(len - hl, 32))
    return k == nil or (k >= 1 and data_header_ok(tvb, hl + k, variant))
end

local function dissect_one_datagram(tvb, tree, variant, offset, len)
    for _, h in ipairs(variant.header) do
        tree:add_le(h[1], tvb(offset + h[2], h[3]))
    end
    tree:add(fields.data_len, len):set_generated()
    local ts = tvb(offset + variant.ts_offset, 8):le_int64()
    local freq = tvb(offset + variant.freq_offset, 8):le_int64()
    if freq <= Int64(0) or tvb(offset + variant.seq_offset, 8):le_int64() < Int64(0) then
        tree:add_proto_expert_info(experts.implausible)
    end
    if freq > Int64(0) then
        tree:add(fields.data_sender_time, ts:tonumber() / freq:tonumber()):set_generated()
    end
    local plen = len - variant.header_len
    tree:add(fields.data_payload_len, plen):set_generated()
    tree:add(fields.data_payload, tvb(offset + variant.header_len, plen))
    local ok = pattern_mismatch(tvb, offset + variant.header_len, plen) == nil
    local item = tree:add(fields.data_payload_ok, ok)
    item:set_generated()
    if not ok then
        item:add_proto_expert_info(experts.payload)
    end
    return tvb(offset + variant.seq_offset, 8):le_int64()
end

local function dissect_data(tvb, pinfo, tree, variant)
    local len = tvb:len()
    tree:add(fields.kind, variant.name):set_generated()
    if len < variant.header_len + 1 then
        tree:add_proto_expert_info(experts.malformed,
            string.format("%s shorter than %d bytes", variant.name, variant.header_len + 1))
        set_info(pinfo, variant.name .. " (truncated)")
        return
    end
    local segments = split_data(tvb, variant)
    tree:add(fields.data_datagrams, #segments):set_generated()
    if #segments == 1 then
        local seq = dissect_one_datagram(tvb, tree, variant, 0, len)
        set_info(pinfo, string.format("%s seq=%s len=%d", variant.name, tostring(seq), len))
        return
    end
    tree:add(fields.data_gso_size, segments[1][2]):set_generated()
    local seqs = {}
    for i, seg in ipairs(segments) do
        local sub = tree:add(fields.data_datagram, tvb(seg[1], seg[2]))
        sub:set_text(string.format("Datagram %d of %d (GSO), %d bytes", i, #segments, seg[2]))
        seqs[#seqs + 1] = tostring(dissect_one_datagram(tvb, sub, variant, seg[1], seg[2]))
    end
    local first, last = seqs[1], seqs[#seqs]
    set_info(pinfo, string.format("%s seq=%s len=%d x %d datagrams (GSO, %d bytes)", variant.name,
        first == last and first or (first .. ".." .. last), segments[1][2], #segments, len))
end

------------------------------------------------------------------------
-- v1 messages
------------------------------------------------------------------------

-- Length rule of each v1 message (version 2): exact length, or minimum.
local v1_len_ok = {
    [FLAG_REQUEST] = function(len) return len >= REQUEST_LEN end,
    [FLAG_JOIN] = function(len) return len >= REQUEST_LEN end,
    [FLAG_CHALLENGE] = function(len) return len == CHALLENGE_LEN end,
    [FLAG_ACCEPT] = function(len) return len == ACCEPT_LEN end,
    [FLAG_REFUSE] = function(len) return len >= REFUSE_MIN_LEN and len <= REQUEST_LEN end,
    [FLAG_REPORT] = function(len) return len >= REPORT_LEN and len <= MAX_REPORT_LEN end,
    [FLAG_END] = function(len) return len == END_LEN end,
}

local function add_tag(tvb, tree)
    local at = tvb:len() - TAG_LEN
    tree:add(fields.v1_tag, tvb(at, TAG_LEN))
    tree:add(fields.v1_keyed, not all_zero(tvb, at, TAG_LEN)):set_generated()
end

local function add_cookie(tvb, tree, offset)
    tree:add(fields.v1_cookie, tvb(offset, COOKIE_LEN))
    local present = not all_zero(tvb, offset, COOKIE_LEN)
    tree:add(fields.v1_has_cookie, present):set_generated()
    return present
end

local function add_request_fields(tvb, tree)
    tree:add_le(fields.req_bps, tvb(11, 8))
    tree:add_le(fields.req_fps, tvb(19, 4))
    tree:add_le(fields.req_len, tvb(23, 4))
    tree:add_le(fields.req_dgram, tvb(27, 4))
    tree:add_le(fields.req_buffer, tvb(31, 4))
    tree:add_le(fields.req_report, tvb(35, 4))
    tree:add_le(fields.req_consent, tvb(39, 4))
end

-- Each returns the text for the Info column after the message name.
local v1_bodies = {}

v1_bodies[FLAG_REQUEST] = function(tvb, tree)
    add_request_fields(tvb, tree)
    local cookie = add_cookie(tvb, tree, 43)
    local m = MEDIA_OFFSET
    local media = tree:add(fields.req_media_model, tvb(m, 1))
    if tvb(m, 1):uint() ~= 0 then
        media:add(fields.req_media_flags, tvb(m + 1, 1))
        media:add_le(fields.req_media_gop, tvb(m + 4, 4))
        media:add_le(fields.req_media_ratio, tvb(m + 8, 4))
        media:add_le(fields.req_media_var, tvb(m + 12, 4))
        media:add_le(fields.req_media_stdev, tvb(m + 16, 8))
        media:add_le(fields.req_media_seed, tvb(m + 24, 8))
    end
    local pad_at = MEDIA_OFFSET + MEDIA_LEN
    tree:add(fields.v1_padding, tvb(pad_at, REQUEST_FEATURES_OFFSET - pad_at))
    local feat = tree:add(fields.req_features, tvb(REQUEST_FEATURES_OFFSET, 1))
    feat:add(fields.req_feat_blocks, tvb(REQUEST_FEATURES_OFFSET, 1))
    local rest = tvb:len() - TAG_LEN - (REQUEST_FEATURES_OFFSET + 1)
    if rest > 0 then
        tree:add(fields.v1_padding, tvb(REQUEST_FEATURES_OFFSET + 1, rest))
    end
    add_tag(tvb, tree)
    return string.format("%d bit/s %d fps %d s%s", tvb(11, 8):le_uint64():tonumber(),
        tvb(19, 4):le_uint(), tvb(23, 4):le_uint(), cookie and " (cookie)" or " (no cookie)")
end
v1_bodies[FLAG_JOIN] = v1_bodies[FLAG_REQUEST]

v1_bodies[FLAG_CHALLENGE] = function(tvb, tree)
    add_cookie(tvb, tree, 11)
    add_tag(tvb, tree)
    return "cookie=" .. tostring(tvb(11, COOKIE_LEN):bytes())
end

v1_bodies[FLAG_ACCEPT] = function(tvb, tree)
    local item = tree:add(fields.connection_id, tvb(11, GUID_LEN))
    if not is_guid(tvb, 11) then
        item:add_proto_expert_info(experts.malformed, "the connection id is not a GUID")
    end
    add_tag(tvb, tree)
    return "connection id " .. tvb(11, GUID_LEN):string()
end

-- A REFUSE of version `version`: version 2 ends with the tag, version 1
-- (the answer to a version 1 request) has none.
local function refuse_body(tvb, tree, version)
    local tag = version == 1 and 0 or TAG_LEN
    local code = tvb(11, 1):uint()
    local n = tvb(12, 1):uint()
    tree:add(fields.refuse_code, tvb(11, 1))
    tree:add(fields.refuse_reason_len, tvb(12, 1))
    local room = tvb:len() - 13 - tag
    if n ~= room then
        tree:add_proto_expert_info(experts.malformed,
            string.format("reason length %d, but %d bytes before the tag", n, room))
        n = math.max(0, math.min(n, room))
    end
    if n > 0 then
        tree:add(fields.refuse_reason, tvb(13, n), tvb(13, n):string(ENC_UTF_8))
    else
        tree:add(fields.refuse_reason, "")
    end
    if tag > 0 then
        add_tag(tvb, tree)
    end
    return string.format("code %d (%s): %s", code, refuse_codes[code] or "unknown",
        n > 0 and tvb(13, n):string(ENC_UTF_8) or "")
end

v1_bodies[FLAG_REFUSE] = function(tvb, tree)
    return refuse_body(tvb, tree, 2)
end

-- The marking block (type 1, version 1): read, not-ECT, ECT(1), ECT(0),
-- CE, then (DSCP, count) pairs.
local function add_marking(tvb, tree, at, body_len)
    local f = { fields.mark_read, fields.mark_not_ect, fields.mark_ect1, fields.mark_ect0, fields.mark_ce }
    for i, field in ipairs(f) do
        tree:add_le(field, tvb(at + (i - 1) * 8, 8))
    end
    local p = at + 40
    while p + 9 <= at + body_len do
        local d = tree:add(fields.mark_dscp, tvb(p, 1))
        d:add_le(fields.mark_dscp_count, tvb(p + 1, 8))
        p = p + 9
    end
end

-- Blocks between a REPORT's fixed fields and its tag; returns false when
-- they do not add up (a cut-short block).
local function add_report_blocks(tvb, tree)
    local at = REPORT_FIXED_END
    local stop = tvb:len() - TAG_LEN
    while at + 4 <= stop do
        local body_len = tvb(at + 2, 2):le_uint()
        if at + 4 + body_len > stop then
            tree:add_proto_expert_info(experts.malformed, "REPORT block cut short")
            return false
        end
        local b = tree:add(fields.rep_block, tvb(at, 4 + body_len))
        b:add(fields.rep_block_type, tvb(at, 1))
        b:add(fields.rep_block_version, tvb(at + 1, 1))
        b:add_le(fields.rep_block_len, tvb(at + 2, 2))
        if tvb(at, 1):uint() == 1 and tvb(at + 1, 1):uint() == 1 and body_len >= 40 then
            add_marking(tvb, b, at + 4, body_len)
        end
        at = at + 4 + body_len
    end
    if at ~= stop then
        tree:add_proto_expert_info(experts.malformed, "bytes after the last REPORT block")
        return false
    end
    return true
end

v1_bodies[FLAG_REPORT] = function(tvb, tree)
    local flags = tree:add(fields.rep_flags, tvb(11, 1))
    flags:add(fields.rep_final, tvb(11, 1))
    local at = 12
    for _, f in ipairs({ fields.rep_completed, fields.rep_dropped, fields.rep_repeated,
        fields.rep_error, fields.rep_dgrams, fields.rep_bytes, fields.rep_corrupt,
        fields.rep_highest, fields.rep_echo_ts, fields.rep_echo_delay, fields.rep_jitter }) do
        tree:add_le(f, tvb(at, 8))
        at = at + 8
    end
    add_report_blocks(tvb, tree)
    add_tag(tvb, tree)
    local final = tvb(11, 1):uint() % 2 == 1
    return string.format("%scompleted=%s dropped=%s received=%s", final and "final " or "",
        tostring(tvb(12, 8):le_uint64()), tostring(tvb(20, 8):le_uint64()),
        tostring(tvb(44, 8):le_uint64()))
end

v1_bodies[FLAG_END] = function(tvb, tree)
    tree:add_le(fields.end_frames, tvb(11, 8))
    tree:add_le(fields.end_dgrams, tvb(19, 8))
    tree:add_le(fields.end_bytes, tvb(27, 8))
    tree:add(fields.end_features, tvb(35, 1))
    tree:add(fields.end_reserved, tvb(36, 7))
    add_tag(tvb, tree)
    return string.format("frames=%s datagrams=%s bytes=%s", tostring(tvb(11, 8):le_uint64()),
        tostring(tvb(19, 8):le_uint64()), tostring(tvb(27, 8):le_uint64()))
end

-- Version 1 (before the cookie and the tag): only its REFUSE is ever sent
-- by a current server, and a version 1 REQUEST/JOIN (128 bytes) is what
-- makes it send one. Both are decoded; other version 1 messages are shown
-- as a body.
local function v1_version1_looks_right(flag, len)
    return (flag == FLAG_REQUEST or flag == FLAG_JOIN) and len >= REQUEST_LEN
end

local function dissect_v1(tvb, pinfo, tree, flag)
    local len = tvb:len()
    local name = flag_names[flag]
    tree:add(fields.kind, name):set_generated()
    tree:add_le(fields.flag, tvb(0, 2))
    if len < V1_HEADER_LEN then
        tree:add_proto_expert_info(experts.malformed, "v1 datagram shorter than its 11-byte header")
        set_info(pinfo, name .. " (truncated)")
        return
    end
    tree:add(fields.v1_version, tvb(2, 1))
    tree:add_le(fields.v1_token, tvb(3, 8))
    local version = tvb(2, 1):uint()
    local token = hex_u64(tvb(3, 8))
    if version == V1_VERSION then
        if not v1_len_ok[flag](len) then
            tree:add_proto_expert_info(experts.malformed,
                string.format("%s of %d bytes: wrong length", name, len))
            set_info(pinfo, string.format("%s token=%s (wrong length %d)", name, token, len))
            return
        end
        local text = v1_bodies[flag](tvb, tree)
        set_info(pinfo, string.format("%s token=%s %s", name, token, text))
        return
    end
    if version == 1 and flag == FLAG_REFUSE and len >= 13 and len - 13 == tvb(12, 1):uint() then
        local text = refuse_body(tvb, tree, 1)
        set_info(pinfo, string.format("%s (version 1) token=%s %s", name, token, text))
        return
    end
    if version == 1 and v1_version1_looks_right(flag, len) then
        add_request_fields(tvb, tree)
        tree:add(fields.v1_body, tvb(43, len - 43))
        set_info(pinfo, string.format("%s (version 1) token=%s", name, token))
        return
    end
    tree:add_proto_expert_info(experts.version, string.format("version %d", version))
    if len > V1_HEADER_LEN then
        tree:add(fields.v1_body, tvb(V1_HEADER_LEN, len - V1_HEADER_LEN))
    end
    set_info(pinfo, string.format("%s (version %d) token=%s", name, version, token))
end

-- Stream parameters a client could mean (looser than a server's limits, so
-- that a request refused for bad parameters is still recognised): a rate
-- of 1 bit/s to 1 Tbit/s, 1 to 1,000,000 frames/s, a length of at least
-- 1 s, datagrams of 27 to 65507 bytes.
local function request_plausible(tvb)
    local bps = tvb(11, 8):le_uint64()
    local fps = tvb(19, 4):le_uint()
    local secs = tvb(23, 4):le_uint()
    local dgram = tvb(27, 4):le_uint()
    return bps >= UInt64(1) and bps <= UInt64(1000000000000) and fps >= 1 and fps <= 1000000
        and secs >= 1 and dgram >= 27 and dgram <= MAX_DATAGRAM
end

local function v1_looks_right(tvb, flag)
    local len = tvb:len()
    if len < V1_HEADER_LEN then
        return false
    end
    local version = tvb(2, 1):uint()
    if version == 1 then
        if flag == FLAG_REFUSE then
            return len >= 13 and len - 13 == tvb(12, 1):uint() and len <= REQUEST_LEN
        end
        return v1_version1_looks_right(flag, len) and request_plausible(tvb)
    end
    if version ~= V1_VERSION or not v1_len_ok[flag](len) then
        return false
    end
    if flag == FLAG_REQUEST or flag == FLAG_JOIN then
        return request_plausible(tvb)
    elseif flag == FLAG_ACCEPT then
        return is_guid(tvb, 11)
    elseif flag == FLAG_REFUSE then
        return tvb(12, 1):uint() == len - 13 - TAG_LEN
    elseif flag == FLAG_REPORT then
        return tvb(11, 1):uint() <= 1
    end
    return true
end

------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------

local function read_flag(tvb)
    return tvb(0, 2):le_uint()
end

local function is_start(tvb)
    return tvb:len() == 5 and tvb(0, 5):string() == "START"
end

-- True when the datagram has the exact shape of one of our messages.
local function looks_like_mediastream(tvb)
    local len = tvb:len()
    if is_start(tvb) then
        return true
    end
    if len < 2 then
        return false
    end
    local flag = read_flag(tvb)
    if data_variants[flag] then
        return data_looks_right(tvb, data_variants[flag])
    end
    if flag == FLAG_CONNECTION_ID then
        return len == CONNECTION_ID_LEN and tvb(38, 1):uint() == 0 and is_guid(tvb, 2)
    end
    if v1_len_ok[flag] then
        return v1_looks_right(tvb, flag)
    end
    return false
end

-- Decodes one UDP payload under `subtree` and sets the Info column.
local function dissect_message(tvb, pinfo, subtree)
    local len = tvb:len()
    if is_start(tvb) then
        subtree:add(fields.kind, "START"):set_generated()
        subtree:add(fields.start, tvb(0, 5))
        set_info(pinfo, "START")
        return len
    end
    if len < 2 then
        subtree:add(fields.kind, "unknown"):set_generated()
        subtree:add_proto_expert_info(experts.malformed, "shorter than a flag")
        set_info(pinfo, "malformed")
        return len
    end
    local flag = read_flag(tvb)
    if data_variants[flag] then
        dissect_data(tvb, pinfo, subtree, data_variants[flag])
    elseif flag == FLAG_CONNECTION_ID then
        subtree:add(fields.kind, "CONNECTION_ID"):set_generated()
        subtree:add_le(fields.flag, tvb(0, 2))
        if len ~= CONNECTION_ID_LEN or not is_guid(tvb, 2) or tvb(38, 1):uint() ~= 0 then
            subtree:add_proto_expert_info(experts.malformed,
                "a connection id is 39 bytes: flag, 36-character GUID, NUL")
            set_info(pinfo, "CONNECTION_ID (malformed)")
            return len
        end
        subtree:add(fields.connection_id, tvb(2, GUID_LEN))
        subtree:add(fields.nul, tvb(38, 1))
        set_info(pinfo, "CONNECTION_ID " .. tvb(2, GUID_LEN):string())
    elseif v1_len_ok[flag] then
        dissect_v1(tvb, pinfo, subtree, flag)
    else
        subtree:add(fields.kind, "unknown"):set_generated()
        subtree:add_le(fields.flag, tvb(0, 2))
        subtree:add_proto_expert_info(experts.unknown, string.format("flag 0x%04x", flag))
        set_info(pinfo, string.format("unknown flag 0x%04x", flag))
    end
    return len
end

local function dissect(tvb, pinfo, tree, found_by)
    local len = tvb:len()
    if len == 0 then
        return 0
    end
    pinfo.cols.protocol:set("MediaStream")
    local subtree = tree:add(ms, tvb(), "MediaStream")
    subtree:add(fields.found_by, found_by):set_generated()
    last_info = ""
    dissect_message(tvb, pinfo, subtree)
    if last_info ~= "" then
        subtree:append_text(", " .. last_info)
    end
    return len
end

function ms.dissector(tvb, pinfo, tree)
    return dissect(tvb, pinfo, tree, "port")
end

local function heuristic(tvb, pinfo, tree)
    if not looks_like_mediastream(tvb) then
        return false
    end
    dissect(tvb, pinfo, tree, "heuristic")
    return true
end

ms:register_heuristic("udp", heuristic)

local udp_port_table = DissectorTable.get("udp.port")
local registered_ports = ""

local function register_ports()
    if registered_ports ~= "" then
        udp_port_table:remove_all(ms)
    end
    registered_ports = ms.prefs.udp_ports or ""
    if registered_ports ~= "" then
        udp_port_table:add(registered_ports, ms)
    end
end

function ms.prefs_changed()
    register_ports()
end

register_ports()
