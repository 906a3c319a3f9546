-- The name a staff member is known by to patients ("Dr. Ana Ruiz"), shown in
-- a patient's access history beside their role and organization. Workforce
-- information, not health information. Accounts added before this have none;
-- the history then names their role alone.
ALTER TABLE staff_accounts ADD COLUMN display_name TEXT NULL;
