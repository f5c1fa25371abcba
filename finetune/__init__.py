"""text2sql.finetune: data preparation, LoRA/QLoRA training, adapter merge, execution-accuracy evaluation."""
