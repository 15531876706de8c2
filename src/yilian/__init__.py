"""Yilian (医联): the information platform of a medical consortium."""
