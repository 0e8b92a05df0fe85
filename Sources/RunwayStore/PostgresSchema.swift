/// The PostgreSQL schema, as versioned migrations run once each (under an advisory lock, so two
/// controllers starting together do not both migrate). A migration, once released, never
/// changes: add a new one. Dates are `double precision` seconds since the reference date, the
/// Double a `Date` holds, so a record read back equals the record written.
enum PostgresSchema {
    /// The advisory lock key migrations run under ("runway" in ASCII).
    static let migrationLock: Int64 = 0x72_75_6E_77_61_79

    static let migrations: [(version: String, statements: [String])] = [
        ("v1: jobs, attempts, events, log index", [
            """
            CREATE TABLE job (
                job text NOT NULL, generation text NOT NULL, profile text NOT NULL, state text NOT NULL, attempt bigint NOT NULL,
                last_reason text, exit_code integer, created_at double precision NOT NULL, updated_at double precision NOT NULL,
                held_since double precision, running_since double precision, next_attempt_at double precision,
                last_heartbeat_at double precision, PRIMARY KEY (job, generation))
            """,
            """
            CREATE TABLE attempt (
                id text PRIMARY KEY, job text NOT NULL, generation text NOT NULL, number bigint NOT NULL, profile text NOT NULL,
                plugin text NOT NULL, retries bigint NOT NULL, task_name text NOT NULL, task_id text, token_hash text NOT NULL UNIQUE,
                state text NOT NULL, reason text, exit_code integer, requested_at double precision NOT NULL, started_at double precision,
                claimed_at double precision, last_heartbeat_at double precision, completed_at double precision,
                stop_requested_at double precision, stopped_at double precision, next_log_seq bigint NOT NULL, log_bytes bigint NOT NULL)
            """,
            "CREATE INDEX attempt_job ON attempt (job)",
            "CREATE INDEX attempt_state ON attempt (state)",
            """
            CREATE TABLE event (
                id bigserial PRIMARY KEY, job text NOT NULL, generation text NOT NULL, attempt bigint, at double precision NOT NULL,
                kind text NOT NULL, message text NOT NULL)
            """,
            "CREATE INDEX event_job ON event (job)",
            """
            CREATE TABLE log_chunk (
                attempt_id text NOT NULL, seq bigint NOT NULL, stream text NOT NULL, "offset" bigint NOT NULL, length bigint NOT NULL,
                at double precision NOT NULL, PRIMARY KEY (attempt_id, seq))
            """,
        ]),
        ("v2: leader lease", [
            "CREATE TABLE lease (name text PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL, expires_at double precision NOT NULL)",
        ]),
        ("v3: controller facts", [
            "CREATE TABLE controller_fact (key text PRIMARY KEY, value text NOT NULL)",
        ]),
        // PostgreSQL only: SQLite keeps output in the state directory's files.
        ("v4: log output", [
            "CREATE TABLE log_output (attempt_id text NOT NULL, seq bigint NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (attempt_id, seq))",
        ]),
        ("v5: token aliases, claim ids", [
            "CREATE TABLE attempt_token (token_hash text PRIMARY KEY, attempt_id text NOT NULL)",
            "ALTER TABLE attempt ADD COLUMN claim_id text",
        ]),
        ("v6: runs, requests, compaction", [
            """
            ALTER TABLE job ADD COLUMN run bigint NOT NULL DEFAULT 1, ADD COLUMN origin text, ADD COLUMN rerun_token text,
                ADD COLUMN upstream text, ADD COLUMN scheduled_after double precision, ADD COLUMN scheduled_for double precision,
                ADD COLUMN compacted boolean NOT NULL DEFAULT false
            """,
            "ALTER TABLE job DROP CONSTRAINT job_pkey, ADD PRIMARY KEY (job, generation, run)",
            "ALTER TABLE attempt ADD COLUMN run bigint NOT NULL DEFAULT 1",
            "ALTER TABLE event ADD COLUMN run bigint NOT NULL DEFAULT 1",
            """
            CREATE TABLE job_request (
                id text PRIMARY KEY, job text NOT NULL, kind text NOT NULL, reason text, requested_by text NOT NULL,
                requested_at double precision NOT NULL, handled_at double precision, outcome text)
            """,
            "CREATE INDEX job_request_open ON job_request (handled_at)",
        ]),
        // Every insert or update of a job record notes the transaction that wrote it, so a
        // reader can ask for the records written since its last read (see
        // `jobRecords(changedSince:)`), whoever wrote them. PostgreSQL 13 or later.
        ("v7: record writers", [
            "ALTER TABLE job ADD COLUMN writer bigint NOT NULL DEFAULT 0",
            "CREATE INDEX job_writer ON job (writer)",
            """
            CREATE FUNCTION runway_job_writer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.writer := pg_current_xact_id()::text::bigint;
                RETURN NEW;
            END $$
            """,
            "CREATE TRIGGER job_writer BEFORE INSERT OR UPDATE ON job FOR EACH ROW EXECUTE FUNCTION runway_job_writer()",
        ]),
        // A heartbeat batch sets only `last_heartbeat_at`: it does not count as a record write
        // (the controller notes the heartbeats it wrote itself). Every other write of a record
        // sets its other columns.
        ("v8: heartbeats are not record changes", [
            "DROP TRIGGER job_writer ON job",
            """
            CREATE TRIGGER job_writer BEFORE INSERT OR UPDATE OF
                job, generation, run, profile, state, attempt, last_reason, exit_code, created_at, updated_at, held_since,
                running_since, next_attempt_at, origin, rerun_token, upstream, scheduled_after, scheduled_for, compacted
            ON job FOR EACH ROW EXECUTE FUNCTION runway_job_writer()
            """,
        ]),
    ]
}
