"""Identification: indicator frameworks as data, the Delphi combination rule, screenings."""
