"""Semantic recall: ``Memory`` saves messages with their embeddings and recalls context as ``@mastra/memory``."""

from .embedders import HashEmbedder
from .memory import Memory, RecallResult, SemanticRecall, chunk_text, index_name

__all__ = ("HashEmbedder", "Memory", "RecallResult", "SemanticRecall", "chunk_text", "index_name")
