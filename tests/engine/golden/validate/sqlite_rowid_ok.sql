SELECT a.rowid, Name FROM Artist AS a ORDER BY rowid
