-- The language a patient last read the portal in ('en' or 'es'), so emails sent
-- later (notices, sign-in codes) are written in it. A preference, not health
-- information; English until the patient chooses or signs in.
ALTER TABLE identities ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es'));
