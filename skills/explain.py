"""Placeholder."""
from core.models import IncidentRecord
from skills.reasoner import Answer


def answer_question(question: str, record: IncidentRecord) -> Answer:
    return Answer(text="")
