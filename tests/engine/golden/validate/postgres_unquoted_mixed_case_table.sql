-- dialect: postgres
SELECT "Name" FROM Artist
