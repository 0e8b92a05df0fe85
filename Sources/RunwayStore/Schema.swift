import GRDB

/// Versioned schema migrations. A migration, once released, never changes: add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, attempts, events, log index") { db in
            try db.create(table: "job") { t in
                t.column("job", .text).notNull()
                t.column("generation", .text).notNull()
                t.column("profile", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("last_reason", .text)
                t.column("exit_code", .integer)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
                t.column("held_since", .datetime)
                t.column("running_since", .datetime)
                t.column("next_attempt_at", .datetime)
                t.column("last_heartbeat_at", .datetime)
                t.primaryKey(["job", "generation"])
            }
            try db.create(table: "attempt") { t in
                t.primaryKey("id", .text)
                t.column("job", .text).notNull().indexed()
                t.column("generation", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("profile", .text).notNull()
                t.column("plugin", .text).notNull()
                t.column("retries", .integer).notNull()
                t.column("task_name", .text).notNull()
                t.column("task_id", .text)
                t.column("token_hash", .text).notNull().unique()
                t.column("state", .text).notNull().indexed()
                t.column("reason", .text)
                t.column("exit_code", .integer)
                t.column("requested_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("claimed_at", .datetime)
                t.column("last_heartbeat_at", .datetime)
                t.column("completed_at", .datetime)
                t.column("stop_requested_at", .datetime)
                t.column("stopped_at", .datetime)
                t.column("next_log_seq", .integer).notNull()
                t.column("log_bytes", .integer).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().indexed()
                t.column("generation", .text).notNull()
                t.column("attempt", .integer)
                t.column("at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: "log_chunk") { t in
                t.column("attempt_id", .text).notNull()
                t.column("seq", .integer).notNull()
                t.column("stream", .text).notNull()
                t.column("offset", .integer).notNull()
                t.column("length", .integer).notNull()
                t.column("at", .datetime).notNull()
                t.primaryKey(["attempt_id", "seq"])
            }
        }
        migrator.registerMigration("v2: leader lease") { db in
            try db.create(table: "lease") { t in
                t.primaryKey("name", .text)
                t.column("holder", .text).notNull()
                t.column("token", .integer).notNull()
                t.column("expires_at", .double).notNull()
            }
        }
        migrator.registerMigration("v3: controller facts") { db in
            try db.create(table: "controller_fact") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v4: token aliases, claim ids") { db in
            try db.create(table: "attempt_token") { t in
                t.primaryKey("token_hash", .text)
                t.column("attempt_id", .text).notNull()
            }
            try db.alter(table: "attempt") { t in t.add(column: "claim_id", .text) }
        }
        migrator.registerMigration("v5: runs, requests, compaction") { db in
            // A job record is one run of one generation: the primary key gains the run, so the
            // table is made again (SQLite cannot change a primary key in place).
            try db.execute(sql: """
                CREATE TABLE job_v5 (
                    job TEXT NOT NULL, generation TEXT NOT NULL, run INTEGER NOT NULL DEFAULT 1, profile TEXT NOT NULL,
                    state TEXT NOT NULL, attempt INTEGER NOT NULL, last_reason TEXT, exit_code INTEGER,
                    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, held_since DATETIME, running_since DATETIME,
                    next_attempt_at DATETIME, last_heartbeat_at DATETIME, origin TEXT, rerun_token TEXT, upstream TEXT,
                    scheduled_after DATETIME, scheduled_for DATETIME, compacted BOOLEAN NOT NULL DEFAULT 0,
                    PRIMARY KEY (job, generation, run));
                INSERT INTO job_v5 (job, generation, profile, state, attempt, last_reason, exit_code, created_at, updated_at,
                    held_since, running_since, next_attempt_at, last_heartbeat_at)
                    SELECT job, generation, profile, state, attempt, last_reason, exit_code, created_at, updated_at,
                    held_since, running_since, next_attempt_at, last_heartbeat_at FROM job;
                DROP TABLE job;
                ALTER TABLE job_v5 RENAME TO job;
                ALTER TABLE attempt ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE event ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
                CREATE TABLE job_request (
                    id TEXT PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT, requested_by TEXT NOT NULL,
                    requested_at DATETIME NOT NULL, handled_at DATETIME, outcome TEXT);
                CREATE INDEX job_request_open ON job_request (handled_at);
                """)
        }
        migrator.registerMigration("v6: record revisions") { db in
            // Every insert or update of a job record takes the next revision (one counter, in the
            // write's own transaction), so a reader can ask for the records written since the
            // last revision it saw, whoever wrote them.
            try db.execute(sql: """
                ALTER TABLE job ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX job_revision ON job (revision);
                CREATE TABLE record_revision (value INTEGER NOT NULL);
                INSERT INTO record_revision (value) VALUES (0);
                CREATE TRIGGER job_revision_insert AFTER INSERT ON job BEGIN
                    UPDATE record_revision SET value = value + 1;
                    UPDATE job SET revision = (SELECT value FROM record_revision)
                        WHERE job = NEW.job AND generation = NEW.generation AND run = NEW.run;
                END;
                CREATE TRIGGER job_revision_update AFTER UPDATE ON job WHEN NEW.revision = OLD.revision BEGIN
                    UPDATE record_revision SET value = value + 1;
                    UPDATE job SET revision = (SELECT value FROM record_revision)
                        WHERE job = NEW.job AND generation = NEW.generation AND run = NEW.run;
                END;
                """)
        }
        migrator.registerMigration("v7: heartbeats are not record changes") { db in
            // A heartbeat batch sets only `last_heartbeat_at`: it takes no revision, so a
            // controller's read of the records written since its last is not every live run's
            // record after each batch (the controller notes the heartbeats it wrote itself).
            // Every other write of a record sets its other columns, and takes one.
            try db.execute(sql: """
                DROP TRIGGER job_revision_update;
                CREATE TRIGGER job_revision_update AFTER UPDATE OF
                    job, generation, run, profile, state, attempt, last_reason, exit_code, created_at, updated_at, held_since,
                    running_since, next_attempt_at, origin, rerun_token, upstream, scheduled_after, scheduled_for, compacted
                ON job WHEN NEW.revision = OLD.revision BEGIN
                    UPDATE record_revision SET value = value + 1;
                    UPDATE job SET revision = (SELECT value FROM record_revision)
                        WHERE job = NEW.job AND generation = NEW.generation AND run = NEW.run;
                END;
                """)
        }
        return migrator
    }
}
