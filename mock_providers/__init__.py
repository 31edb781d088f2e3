"""Stateful, wire-compatible mocks of the Microsoft identity platform, Microsoft Graph, Exchange Web
Services and Google OAuth/Calendar/People, served by one hub and driven by one world."""
