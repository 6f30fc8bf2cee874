-- mt_policy.lua: decisions and header edits over the real socket, several
-- messages on one connection, exact replies.  -D sock=unix:/path.
-- Store: alice@example.com may use herself and alias@example.com;
-- example.com is local; authserv-id is mx.test.
local function check(ok, what)
    if not ok then mt.echo("FAIL: " .. what); error("FAIL: " .. what) end
end

local conn = mt.connect(sock, 50, 0.1)
check(conn ~= nil, "connect")
check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")

local function auth(qid, login, mech)
    mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", login, "{auth_type}", mech)
end

-- 1. allowed, with forged Authentication-Results carrying our id (two) and
--    another id (kept), and a forged X-Authgate-Verdict
auth("Q1", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 1")
check(mt.getreply(conn) == SMFIR_CONTINUE, "mail 1 continue")
mt.header(conn, "Authentication-Results", "mx.test; auth=pass smtp.auth=ceo@example.com")
mt.header(conn, "From", "Alice <alice@example.com>")
mt.header(conn, "Authentication-Results", "other.example; spf=pass")
mt.header(conn, "authentication-results", "MX.TEST; dkim=pass")
mt.header(conn, "X-Authgate-Verdict", "pass")
check(mt.eom(conn) == nil, "eom 1")
check(mt.getreply(conn) == SMFIR_CONTINUE, "eom 1 continue")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results",
      "mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com", 1), "A-R inserted at 1")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 1), "delete A-R 1")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 3), "delete A-R 3")
check(not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 2), "A-R 2 (other id) kept")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Authgate-Verdict", 1), "delete X-Authgate-Verdict")

-- 2. envelope mismatch: rejected at MAIL
auth("Q2", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<bob@example.com>") == nil, "mail 2")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "mail 2 rejected with a reply code")

-- 3. MAIL FROM:<> with a forged From: rejected at end of data
auth("Q3", "alice@example.com", "LOGIN")
check(mt.mailfrom(conn, "<>") == nil, "mail 3")
check(mt.getreply(conn) == SMFIR_CONTINUE, "mail 3 continue")
mt.header(conn, "From", "CEO <ceo@example.com>")
check(mt.eom(conn) == nil, "eom 3")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "eom 3 reply code")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
      "From address <ceo@example.com> rejected: not owned by login alice@example.com"),
      "eom 3 exact reply")
check(not mt.eom_check(conn, MT_HDRINSERT), "no header edits on a rejected message")

-- 4. address in the display name
auth("Q4", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 4")
mt.header(conn, "From", "\"ceo@example.com\" <alice@example.com>")
check(mt.eom(conn) == nil, "eom 4")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
      "From display name claims <ceo@example.com>, which login alice@example.com may not use"),
      "eom 4 exact reply")

-- 5. group syntax
auth("Q5", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 5")
mt.header(conn, "From", "Friends: alice@example.com;")
check(mt.eom(conn) == nil, "eom 5")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
      "Message rejected: malformed From header: group syntax (login alice@example.com)"), "eom 5 exact reply")

-- 5b. a % in the reply text is doubled for smfi_setreply
auth("Q5b", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 5b")
mt.header(conn, "From", "<100%real@example.com>")
check(mt.eom(conn) == nil, "eom 5b")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
      "From address <100%%real@example.com> rejected: not owned by login alice@example.com"),
      "eom 5b exact reply")

-- 6. two From fields
auth("Q6", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 6")
mt.header(conn, "From", "alice@example.com")
mt.header(conn, "FROM", "ceo@example.com")
check(mt.eom(conn) == nil, "eom 6")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
      "Message rejected: 2 From header fields (login alice@example.com)"), "eom 6 exact reply")

-- 7. aborted message, then an unauthenticated one: auth=none
auth("Q7", "alice@example.com", "PLAIN")
check(mt.mailfrom(conn, "<alice@example.com>") == nil, "mail 7")
check(mt.abort(conn) == nil, "abort 7")
mt.macro(conn, SMFIC_MAIL, "i", "Q8")
check(mt.mailfrom(conn, "<someone@remote.example>") == nil, "mail 8")
check(mt.getreply(conn) == SMFIR_CONTINUE, "mail 8 continue")
mt.header(conn, "From", "someone@remote.example")
check(mt.eom(conn) == nil, "eom 8")
check(mt.getreply(conn) == SMFIR_CONTINUE, "eom 8 continue")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", "mx.test; auth=none", 1),
      "auth=none")

-- 9. a client-supplied {auth_author} is not an identity
mt.macro(conn, SMFIC_MAIL, "i", "Q9", "{auth_author}", "alice@example.com")
check(mt.mailfrom(conn, "<alice@example.com>", "AUTH=alice@example.com") == nil, "mail 9")
mt.header(conn, "From", "alice@example.com")
check(mt.eom(conn) == nil, "eom 9")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", "mx.test; auth=none", 1),
      "auth_author ignored")

mt.disconnect(conn)
mt.echo("PASS mt_policy")
