"""What `county_reader` sees of citizens' data: the views over `county.events`, masked as the hall masks.

The site's ledger keeps personal data whole, and so does the county ledger (it is the same events); only the
county's supervisors (`county_auditor`, by law) read them raw. Everyone else — the dashboard, report writers,
a county clerk with a SQL client — reads views that mask names, ID numbers and phone numbers by the very rules
the hall prints and publishes them with (devices/privacy.py: 张*, 3799**********9509, 138****5678). The rules
are written once more in SQL, because the database must apply them itself for a role that may not read the
table; tests/test_county_report.py checks the SQL against the Python functions on the same values.

Which fields are personal is hall_bus/wire/redact.py's list (the bus masks the same ones). Free text (a
question, a complaint's words, a refusal reason) is left out of the views altogether: its masking needs the
hall's list of names and its address patterns, which SQL does not have, and a report has no use for it.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.privacy import mask_address, mask_id_number, mask_name, mask_phone
from hall_bus.wire.redact import EVENT_FIELDS, FREE_TEXT, SECRET

MASKED_VIEWS = ("events_view", "cases_view", "complaints_view", "consultations_view", "delegations_view",
                "case_steps_view")

# devices.privacy's rules in SQL; `btrim` of the whitespace Python's str.strip() removes in practice.
_WS = r"E' \t\n\r\u3000'"
_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION county.mask_name(n text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t = '' THEN ''
                ELSE left(t, k) || repeat('*', greatest(1, length(t) - k)) END
    FROM (SELECT t, CASE WHEN length(t) >= 4 AND left(t, 2) = ANY(ARRAY['欧阳', '司马', '上官', '诸葛', '东方',
                 '皇甫', '尉迟', '公孙', '慕容', '令狐', '司徒']) THEN 2 ELSE 1 END AS k
          FROM (SELECT btrim(n, {_WS}) AS t) a) b $$;
CREATE OR REPLACE FUNCTION county.mask_id_number(n text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(t) <= 8 THEN repeat('*', length(t))
                ELSE left(t, 4) || repeat('*', length(t) - 8) || right(t, 4) END
    FROM (SELECT btrim(n, {_WS}) AS t) a $$;
CREATE OR REPLACE FUNCTION county.mask_phone(n text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(t) < 7 THEN repeat('*', length(t))
                ELSE left(t, 3) || repeat('*', length(t) - 7) || right(t, 4) END
    FROM (SELECT btrim(n, {_WS}) AS t) a $$;
CREATE OR REPLACE FUNCTION county.mask_address(n text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(t) <= 6 THEN left(t, length(t) / 2) || '****' ELSE left(t, 6) || '****' END
    FROM (SELECT btrim(n, {_WS}) AS t) a $$;
"""
SQL_FUNCTIONS: dict[Callable[[str], str], str] = {mask_name: "county.mask_name",
                                                  mask_id_number: "county.mask_id_number",
                                                  mask_phone: "county.mask_phone",
                                                  mask_address: "county.mask_address"}


def _masked_data() -> str:
    """county.masked_data(type, data): the event's data with the personal fields of its type masked (redact's
    EVENT_FIELDS), free text and staff secrets left out. A string field only: anything else is left as it is,
    as the bus does."""
    dropped = ", ".join(f"'{k}'" for k in sorted(FREE_TEXT | SECRET))
    cases = []
    for kind, fields in sorted(EVENT_FIELDS.items()):
        parts = " || ".join(
            f"CASE WHEN jsonb_typeof(d->'{k}') = 'string' "
            f"THEN jsonb_build_object('{k}', {SQL_FUNCTIONS[fn]}(d->>'{k}')) ELSE '{{}}'::jsonb END"
            for k, fn in sorted(fields.items()))
        cases.append(f"WHEN '{kind}' THEN {parts}")
    return (f"CREATE OR REPLACE FUNCTION county.masked_data(t text, d jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE "
            f"PARALLEL SAFE AS $$ SELECT (d - ARRAY[{dropped}]) || CASE t {' '.join(cases)} ELSE '{{}}'::jsonb END "
            "$$;")


_VIEWS = """
CREATE OR REPLACE VIEW county.case_steps_view AS
    SELECT site, seq, type, at, data->>'case' AS case_no, data->>'item_name' AS item_name,
           data->>'to_site' AS to_site, data->>'decision' AS decision, data->>'due' AS due, data->>'how' AS how
    FROM county.events WHERE data ? 'case';
CREATE OR REPLACE VIEW county.events_view AS
    SELECT site, seq, type, at, county.masked_data(type, data) AS data, received_at FROM county.events;
CREATE OR REPLACE VIEW county.cases_view AS
    SELECT site, seq, at, data->>'case' AS case_no, data->>'item' AS item, data->>'item_name' AS item_name,
           data->>'service' AS service, data->>'case_kind' AS kind,
           county.mask_name(data->>'applicant') AS applicant, county.mask_id_number(data->>'id_number') AS id_number,
           county.mask_phone(data->>'phone') AS phone, data->>'owner' AS owner, data->>'counter' AS counter,
           data->>'due' AS due
    FROM county.events WHERE type = 'case_accepted';
CREATE OR REPLACE VIEW county.complaints_view AS
    SELECT site, seq, at, data->>'complaint_id' AS complaint_id, data->>'channel' AS channel,
           data->>'subject_kind' AS subject_kind, data->>'subject' AS subject,
           county.mask_name(data->>'complainant') AS complainant, county.mask_phone(data->>'phone') AS phone,
           data->>'due' AS due
    FROM county.events WHERE type = 'complaint_registered';
CREATE OR REPLACE VIEW county.consultations_view AS
    SELECT site, seq, at, data->>'consultation_id' AS consultation_id, data->>'helper' AS helper,
           county.mask_name(data->>'name') AS name, county.mask_phone(data->>'contact') AS contact,
           data->>'service' AS service, data->>'due' AS due
    FROM county.events WHERE type = 'consultation_opened';
CREATE OR REPLACE VIEW county.delegations_view AS
    SELECT site, seq, at, data->>'delegation_id' AS delegation_id, data->>'helper' AS helper,
           county.mask_name(data->>'principal') AS principal, data->'services' AS services
    FROM county.events WHERE type = 'delegation_signed';
"""


def masked_views_sql() -> str:
    """The functions and views, every statement CREATE OR REPLACE: run at every migrate."""
    return _FUNCTIONS + _masked_data() + _VIEWS
