-- Conversations (issue 5): WebSocket tickets, facts about users, session summaries, and the worker's job ledger.

-- A browser cannot set X-Api-Key on a WebSocket upgrade: it gets a short-lived, single-use ticket instead. Only the
-- ticket's SHA-256 is stored; redeeming deletes the row, so a ticket works once.
CREATE TABLE tickets (
    hash       bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX tickets_by_expiry ON tickets (expires_at);

-- What a user said about themselves, extracted by the worker when a session ends; the concierge retrieves them with
-- full-text search.
CREATE TABLE facts (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    text              text NOT NULL,
    source_session_id uuid REFERENCES sessions ON DELETE SET NULL,
    created_at        timestamptz NOT NULL,
    search            tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE UNIQUE INDEX facts_unique_text ON facts (user_id, lower(text));
CREATE INDEX facts_by_user ON facts (user_id, id);
CREATE INDEX facts_search ON facts USING gin (search);

ALTER TABLE sessions ADD COLUMN summary text;
-- Set when the session's end-of-session jobs have been queued; the worker's sweep queues what is still null.
ALTER TABLE sessions ADD COLUMN jobs_queued_at timestamptz;
CREATE INDEX sessions_ended_unqueued ON sessions (ended_at) WHERE status = 'ended' AND jobs_queued_at IS NULL;

-- Jobs whose effect is done: a job's effect and its row commit in one transaction, so a job delivered twice (a worker
-- killed after the commit, before XACK) has its effect once.
CREATE TABLE job_runs (
    job_id       text PRIMARY KEY,
    type         text NOT NULL,
    completed_at timestamptz NOT NULL,
    worker       text NOT NULL
);
