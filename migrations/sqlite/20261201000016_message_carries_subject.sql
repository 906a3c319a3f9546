-- A thread's first message may carry the thread's subject inside its own
-- sealed body (format: subject length, subject, body), so that opening the
-- thread opens one sealed item instead of two. The thread keeps its own
-- sealed subject for the inbox list. Older messages hold the body alone.
ALTER TABLE messages ADD COLUMN carries_subject BOOLEAN NOT NULL DEFAULT FALSE;
