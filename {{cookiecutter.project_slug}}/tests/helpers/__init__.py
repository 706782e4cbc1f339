"""What tests share: plain functions and types, imported by test modules and fixtures."""
