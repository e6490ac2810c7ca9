-- Users, their characters, sessions with a character, and the messages of each session.
-- Ids are UUIDv7 (time-ordered), so ordering by id is ordering by creation: keyset pagination needs nothing else.
CREATE TABLE users (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    email        text NOT NULL,
    api_key_hash bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE characters (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('tarot', 'custom_chat', 'blind_date', 'concierge')),
    persona    text NOT NULL,
    voice      text NOT NULL,
    greeting   text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX characters_by_user ON characters (user_id, id);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    character_id uuid NOT NULL REFERENCES characters ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('active', 'ended')),
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id, id);

CREATE TABLE messages (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('user', 'character')),
    text       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX messages_by_session ON messages (session_id, id);
