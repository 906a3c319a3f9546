-- An organization's branding, set by its admins: an accent colour (checked for
-- contrast against white) and a logo (PNG or JPEG, at most 200 KB), shown on
-- its pages and in its emails. Not health information.
ALTER TABLE organizations ADD COLUMN brand_colour TEXT NULL;
ALTER TABLE organizations ADD COLUMN logo BYTEA NULL;
ALTER TABLE organizations ADD COLUMN logo_type TEXT NULL;
