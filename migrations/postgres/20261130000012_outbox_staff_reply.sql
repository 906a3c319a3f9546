-- A new kind of email: staff told that a patient replied in their mailbox.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('sign_in_code', 'new_item', 'staff_reply'));
