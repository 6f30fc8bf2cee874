-- mt_negotiate.lua: what authgate-milter asks of the MTA, checked with
-- miltertest over the real socket (-D sock=unix:/path).
-- Offered: everything (miltertest's defaults, as a current MTA does).
local function check(ok, what)
    if not ok then mt.echo("FAIL: " .. what); error("FAIL: " .. what) end
end

local conn = mt.connect(sock, 50, 0.1)
check(conn ~= nil, "connect " .. sock)
check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")

-- stages it skips
for _, o in ipairs({ {"NOCONNECT", SMFIP_NOCONNECT}, {"NOHELO", SMFIP_NOHELO},
                     {"NORCPT", SMFIP_NORCPT}, {"NOBODY", SMFIP_NOBODY},
                     {"NOEOH", SMFIP_NOEOH}, {"NOUNKNOWN", SMFIP_NOUNKNOWN},
                     {"NODATA", SMFIP_NODATA}, {"NR_HDR", SMFIP_NR_HDR} }) do
    check(mt.test_option(conn, o[2]), "protocol option " .. o[1] .. " not negotiated")
end
-- stages it needs, and no-reply flags it must not claim
for _, o in ipairs({ {"NOMAIL", SMFIP_NOMAIL}, {"NOHDRS", SMFIP_NOHDRS},
                     {"NR_MAIL", SMFIP_NR_MAIL}, {"NR_CONN", SMFIP_NR_CONN},
                     {"NR_RCPT", SMFIP_NR_RCPT}, {"NR_EOH", SMFIP_NR_EOH},
                     {"NR_BODY", SMFIP_NR_BODY}, {"HDR_LEADSPC", SMFIP_HDR_LEADSPC} }) do
    check(not mt.test_option(conn, o[2]), "protocol option " .. o[1] .. " must not be set")
end
-- actions: header changes only (quarantine only when configured)
check(mt.test_action(conn, SMFIF_ADDHDRS), "SMFIF_ADDHDRS")
check(mt.test_action(conn, SMFIF_CHGHDRS), "SMFIF_CHGHDRS")
check(mt.test_action(conn, SMFIF_QUARANTINE) == (quarantine == "yes"), "SMFIF_QUARANTINE")
for _, a in ipairs({ {"CHGBODY", SMFIF_CHGBODY}, {"ADDRCPT", SMFIF_ADDRCPT},
                     {"DELRCPT", SMFIF_DELRCPT}, {"CHGFROM", SMFIF_CHGFROM} }) do
    check(not mt.test_action(conn, a[2]), "action " .. a[1] .. " must not be requested")
end
mt.disconnect(conn)
mt.echo("PASS mt_negotiate")
