"""OData literals for `$filter` expressions, quoted so a value can never change the expression.

Values from incidents (names, addresses, ids) are data: a single quote is doubled, so
`o'brien` stays one string literal and cannot close the filter early.
"""

from __future__ import annotations


def odata_string(value: str) -> str:
    """`value` as an OData string literal."""
    return "'" + value.replace("'", "''") + "'"


def eq(field: str, value: str) -> str:
    """`field eq '<value>'`."""
    return f"{field} eq {odata_string(value)}"
