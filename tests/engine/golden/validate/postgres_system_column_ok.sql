-- dialect: postgres
SELECT ctid, "Name" FROM "Artist"
