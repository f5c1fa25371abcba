SELECT al.Title, SUM(il.UnitPrice * il.Quantity) AS sales
FROM Album al JOIN Track t ON t.AlbumId = al.AlbumId
JOIN InvoiceLine il ON il.TrackId = t.TrackId
GROUP BY al.AlbumId ORDER BY sales DESC LIMIT 10