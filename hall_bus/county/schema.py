"""The county ledger's layout in PostgreSQL, and the roles that keep each site to its own rows.

Why this shape: every site already keeps a durable, numbered event log (its SQLite ledger), so the county needs
no broker and no second model of the hall — it keeps the same events keyed on (site, seq). That key makes a
resent batch harmless (`ON CONFLICT DO NOTHING`) and lets the hub answer "the highest contiguous sequence I hold"
with one number per site, from which a site resumes after a restart, a lost link or a week offline.

Two guards keep a site to its own rows, and the second is the database's, so a bug in the hub cannot undo it:
the hub learns the site from the CURVE key the batch arrived under (never from the message), and it writes each
batch under `SET LOCAL ROLE county_site_<code>`, a role that row-level security lets insert only rows whose
`site` is its own. The roles have no login: only the hub (a member of every site role) can become them.

Hub-made rows (deliveries between sites, hand-over timings, the hub's own log) are the hub's, written as the
connecting user after the site role is dropped again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg
from psycopg import sql

from hall_bus.county.masking import MASKED_VIEWS, masked_views_sql
from hall_bus.county.projections import PROJECTION_VERSION, rebuild
from hall_bus.county.projections import TABLES as PROJECTION_TABLES

SCHEMA = "county"
SCHEMA_VERSION = 1
SITE_ROLE_PREFIX = "county_site_"
READER_ROLE = "county_reader"  # may read every site's rows (reports, the dashboard); personal data masked in views
AUDITOR_ROLE = "county_auditor"  # may read personal data whole (the county's own supervisors, by law)

_TABLES = """
CREATE SCHEMA IF NOT EXISTS county;
CREATE TABLE IF NOT EXISTS county.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS county.sites (
    code text PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL,
    parent text,
    high_water bigint NOT NULL DEFAULT 0,
    inbox_acked bigint NOT NULL DEFAULT 0,
    site_seq bigint NOT NULL DEFAULT 0,
    last_event_at timestamptz,
    last_seen timestamptz,
    first_seen timestamptz
);
CREATE TABLE IF NOT EXISTS county.events (
    site text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL,
    data jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, seq)
);
CREATE INDEX IF NOT EXISTS events_type_at ON county.events (type, at);
CREATE INDEX IF NOT EXISTS events_case ON county.events ((data->>'case'), at) WHERE data ? 'case';
CREATE TABLE IF NOT EXISTS county.deliveries (
    id bigserial PRIMARY KEY,
    to_site text NOT NULL,
    from_site text NOT NULL,
    from_seq bigint NOT NULL,
    kind text NOT NULL,
    handover_id text,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    acked_at timestamptz,
    UNIQUE (from_site, from_seq)
);
CREATE INDEX IF NOT EXISTS deliveries_to ON county.deliveries (to_site, id);
CREATE TABLE IF NOT EXISTS county.handovers (
    handover_id text PRIMARY KEY,
    case_no text NOT NULL,
    from_site text NOT NULL,
    to_site text NOT NULL,
    from_level text,
    to_level text,
    sent_at timestamptz NOT NULL,
    accept_by timestamptz NOT NULL,
    received_at timestamptz,
    accepted_at timestamptz,
    declined_at timestamptz,
    returned_at timestamptz,
    result_at timestamptz,
    escalated_at timestamptz
);
CREATE TABLE IF NOT EXISTS county.hub_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    type text NOT NULL,
    site text,
    data jsonb NOT NULL
);
-- The report's projections (projections.py): one narrow row per case, rating, help claim, complaint,
-- consultation and follow-up, one per site, day and service for visits; no citizen's data in any of them.
CREATE TABLE IF NOT EXISTS county.p_cases (
    site text NOT NULL, case_no text NOT NULL, accepted_at timestamptz NOT NULL, service text NOT NULL,
    kind text NOT NULL, counter int, owner text NOT NULL, concluded_at timestamptz, on_time boolean,
    decision text, PRIMARY KEY (site, case_no));
CREATE INDEX IF NOT EXISTS p_cases_accepted ON county.p_cases (accepted_at);
CREATE INDEX IF NOT EXISTS p_cases_concluded ON county.p_cases (concluded_at);
CREATE TABLE IF NOT EXISTS county.p_visits (
    site text NOT NULL, day date NOT NULL, service text NOT NULL, visits int NOT NULL,
    PRIMARY KEY (site, day, service));
CREATE INDEX IF NOT EXISTS p_visits_day ON county.p_visits (day);
CREATE TABLE IF NOT EXISTS county.p_ratings (
    site text NOT NULL, ticket text NOT NULL, day date NOT NULL, at timestamptz NOT NULL, level text NOT NULL,
    service text NOT NULL, counter int, PRIMARY KEY (site, ticket));
CREATE INDEX IF NOT EXISTS p_ratings_day ON county.p_ratings (day);
CREATE TABLE IF NOT EXISTS county.p_helps (
    site text NOT NULL, ticket text NOT NULL, person text NOT NULL, day date NOT NULL,
    PRIMARY KEY (site, ticket, person));
CREATE INDEX IF NOT EXISTS p_helps_day ON county.p_helps (day);
CREATE TABLE IF NOT EXISTS county.p_complaints (
    site text NOT NULL, complaint_id text NOT NULL, at timestamptz NOT NULL, subject_kind text NOT NULL,
    subject text NOT NULL, due timestamptz, closed_at timestamptz, overdue boolean NOT NULL DEFAULT false,
    PRIMARY KEY (site, complaint_id));
CREATE INDEX IF NOT EXISTS p_complaints_at ON county.p_complaints (at);
CREATE TABLE IF NOT EXISTS county.p_consultations (
    site text NOT NULL, consultation_id text NOT NULL, at timestamptz NOT NULL, helper text NOT NULL,
    service text NOT NULL, due timestamptz, answered_at timestamptz, overdue boolean NOT NULL DEFAULT false,
    PRIMARY KEY (site, consultation_id));
CREATE INDEX IF NOT EXISTS p_consultations_at ON county.p_consultations (at);
CREATE TABLE IF NOT EXISTS county.p_followups (
    site text NOT NULL, followup_id text NOT NULL, at timestamptz NOT NULL, service text NOT NULL, counter int,
    owner text NOT NULL DEFAULT '', due timestamptz, closed_at timestamptz, PRIMARY KEY (site, followup_id));
CREATE INDEX IF NOT EXISTS p_followups_at ON county.p_followups (at);
"""

_POLICIES = """
ALTER TABLE county.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE county.events FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS site_writes_own ON county.events;
CREATE POLICY site_writes_own ON county.events FOR INSERT
    WITH CHECK (current_user = 'county_site_' || lower(site));
DROP POLICY IF EXISTS site_reads_own ON county.events;
CREATE POLICY site_reads_own ON county.events FOR SELECT
    USING (current_user = 'county_site_' || lower(site)
           OR pg_has_role(current_user, 'county_reader', 'MEMBER')
           OR pg_has_role(current_user, 'county_auditor', 'MEMBER'));
"""


def site_role(code: str) -> str:
    """The database role a site's batches are written under. Site codes are [0-9A-Za-z]{2,12}, so the name is
    safe and short; it is still passed as an identifier, never pasted into SQL."""
    if not re.fullmatch(r"[0-9A-Za-z]{2,12}", code):
        raise ValueError(f"not a site code: {code!r}")
    return SITE_ROLE_PREFIX + code.lower()


def _ensure_role(cur: psycopg.Cursor, name: str) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    if cur.fetchone() is None:
        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))


def migrate(conn: psycopg.Connection, sites: Iterable[tuple[str, str, str, str | None]]) -> None:
    """Create or bring up to date the tables, policies and one role per site; (code, name, level, parent) rows.

    Safe to run at every hub start: everything is IF NOT EXISTS or an upsert, in one transaction, so two hubs
    started at once by mistake cannot leave half a schema. The connecting user becomes a member of every site
    role (it must be allowed to create roles: a superuser, or CREATEROLE)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('county.migrate'))")
        cur.execute(_TABLES)
        for role in (READER_ROLE, AUDITOR_ROLE):
            _ensure_role(cur, role)
        cur.execute(_POLICIES)
        cur.execute(masked_views_sql())
        _grant_readers(cur)
        me = conn.info.user
        # The hub reads every site's rows (its dashboard, its hand-over timings): without this a hub connected as
        # a non-superuser owner would see nothing through the forced row-level security.
        cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (me, READER_ROLE))
        row = cur.fetchone()
        if not (row and row[0]):
            cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(READER_ROLE), sql.Identifier(me)))
        for code, name, level, parent in sites:
            role = site_role(code)
            _ensure_role(cur, role)
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA county TO {}").format(sql.Identifier(role)))
            cur.execute(sql.SQL("GRANT INSERT, SELECT ON county.events TO {}").format(sql.Identifier(role)))
            cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (me, role))
            row = cur.fetchone()
            if not (row and row[0]):
                cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(me)))
            cur.execute("INSERT INTO county.sites (code, name, level, parent) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level, "
                        "parent = EXCLUDED.parent", (code, name, level, parent))
        cur.execute("INSERT INTO county.meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE "
                    "SET value = EXCLUDED.value", (str(SCHEMA_VERSION),))
        cur.execute("SELECT value FROM county.meta WHERE key = 'projections'")
        row = cur.fetchone()
        if row is None or row[0] != PROJECTION_VERSION:  # events held before the projections (or their rules)
            rebuild(conn)
            cur.execute("INSERT INTO county.meta VALUES ('projections', %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = EXCLUDED.value", (PROJECTION_VERSION,))


# The tables a county_reader may read whole: no citizen's data in them (hand-overs hold case numbers, the
# projections ids and counts). county.events and county.deliveries (payloads of cases handed between sites) are
# read through the masked views instead.
READER_TABLES = ("meta", "sites", "handovers", "hub_log", *PROJECTION_TABLES)


def _grant_readers(cur: psycopg.Cursor) -> None:
    """county_reader: the masked views and the tables without personal data, nothing else (a database set up
    before the views had SELECT on every table: that is taken back). county_auditor: everything, raw."""
    cur.execute(f"GRANT USAGE ON SCHEMA county TO {READER_ROLE}, {AUDITOR_ROLE}")
    cur.execute(f"REVOKE SELECT ON county.events, county.deliveries FROM {READER_ROLE}")
    tables = ", ".join(f"county.{t}" for t in (*READER_TABLES, *MASKED_VIEWS))
    cur.execute(f"GRANT SELECT ON {tables} TO {READER_ROLE}")
    # what waits for whom (the dashboard's count), without the payloads, which carry the case's applicant
    cur.execute(f"GRANT SELECT (id, to_site, from_site, from_seq, kind, handover_id, created_at, acked_at) "
                f"ON county.deliveries TO {READER_ROLE}")
    cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA county TO {AUDITOR_ROLE}")
    cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA county TO {READER_ROLE}, {AUDITOR_ROLE}")
