SELECT Name
FROM Artst
WHERE ArtistId = 1