pub mod home;
pub mod inbox;
pub mod not_found;
pub mod open_link;
pub mod passkeys;
pub mod sign_in;
pub mod signed_out;
pub mod staff;
