"""text2sql.kernel_magic: the %%text2sql IPython magic and the jupyter-server extension."""
