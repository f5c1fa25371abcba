SELECT al.Title
FROM Album al JOIN Track t ON t.AlbumId = al.AlbumId
WHERE t.Genre = 1