-- dialect: postgres
SELECT "name" FROM "Artist"
