@policy @privacy @office365 @needs:office365-graph
Feature: Contacts, scheduling privilege and private events
  A user invites a contact by email and the platform sends them a request. With Contacts Write
  the desktop client creates contacts from the call history; without it that is refused and
  nothing reaches the provider. A user gives another scheduling privilege, with or without
  managing private events; Schedule For uses it. An assistant who may not manage private events
  sees an executive's private event as a time slot only: no topic, invitation link or attendees.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"

  @req:CONTACT-01
  Scenario: Inviting a contact by email sends them a contact request
    Given the user is the first member of tenant "contoso"
    When the user invites the second member of tenant "contoso" as a contact
    Then a contact request from the user to them is pending
    And the invited member sees the pending contact request from the user

  @req:CONTACT-01
  Scenario: A second invitation while one is pending is refused and nothing is sent
    Given the user is the first member of tenant "contoso"
    When the user invites the second member of tenant "contoso" as a contact
    And the user tries to invite the same member again
    Then the invitation is refused with "already_requested" and no contact request was sent

  @req:CONTACT-01
  Scenario Outline: An invitation to something that is not an email address is refused (<email>)
    Given the user is the first member of tenant "contoso"
    When the user tries to invite "<email>" as a contact
    Then the invitation is refused with "invalid_email" and no contact request was sent

    Examples:
      | email              |
      | not-an-email       |
      | someone@           |
      | @example.com       |
      | some one@example.com |
      | someone@exa mple.com |

  @req:PERM-04 @req:PERM-03 @needs:contacts
  Scenario: Without Contacts Write, creating a contact from the call history is refused and nothing is written
    Given the admin sets the calendar permission to "Read" and the contacts permission to "Read"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    When the user tries to save "Ada Lovelace" <ada@partner.example.net> from the call history as a contact
    Then saving the contact is refused with "contacts_write_required" and a message containing "needs the Contacts Write permission"
    And the user's Office 365 contacts are unchanged
    And no write call reached Microsoft Graph
    And nothing changed

  @req:PERM-04 @needs:contacts
  Scenario: With Contacts Write, a contact saved from the call history lands in the user's Office 365 contacts once
    Given the admin sets the calendar permission to "Read" and the contacts permission to "Write"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    When the user saves "Ada Lovelace" <ada@partner.example.net> from the call history as a contact
    Then the user's Office 365 contacts include "Ada Lovelace" <ada@partner.example.net> exactly once
    And the contact list shows the user's Office 365 contacts

  @req:PRIV-02 @req:PRIV-03 @req:PRIV-01 @needs:scheduling-privileges
  Scenario: An assistant without private access sees the executive's private event as a time slot only
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of tenant "contoso"
    And the executive has a private meeting "Board strategy" tomorrow at 09:00 in "Boardroom 4" with an invitation link and attendees
    And the executive has a meeting "Team sync" tomorrow at 11:00 with attendees
    And the executive has connected Office 365 with the default settings
    And the executive gives the assistant scheduling privilege
    When the assistant views the executive's calendar
    Then the assistant sees the private meeting at 09:00 as a time slot only, without topic, invitation link or attendees
    And the assistant sees "Team sync" at 11:00 with its attendees

  @req:PRIV-01 @req:PRIV-03 @needs:scheduling-privileges
  Scenario: An assistant trusted to manage private events sees their details
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of tenant "contoso"
    And the executive has a private meeting "Board strategy" tomorrow at 09:00 with an invitation link and attendees
    And the executive has connected Office 365 with the default settings
    And the executive gives the assistant scheduling privilege with managing private events
    When the assistant views the executive's calendar
    Then the assistant sees "Board strategy" at 09:00 with its topic, invitation link and attendees

  @req:SCHED-01 @needs:scheduling-privileges @needs:bidirectional-sync
  Scenario: Schedule For puts the meeting on the executive's calendar once
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of tenant "contoso"
    And the executive has connected Office 365 with the default settings
    And the executive gives the assistant scheduling privilege
    When the assistant schedules a meeting "Investor call" for the executive tomorrow at 15:00
    Then the user's Office 365 calendar has exactly one meeting "Investor call"
    And the meeting list shows "Investor call"

  @req:SCHED-01 @req:PRIV-01 @needs:scheduling-privileges
  Scenario: Without scheduling privilege the assistant can neither schedule for nor view the executive
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of tenant "contoso"
    And the executive has connected Office 365 with the default settings
    And the executive gives the assistant scheduling privilege
    When the executive takes the scheduling privilege back
    And the assistant tries to schedule a meeting "Investor call" for the executive tomorrow at 15:00
    Then the assistant is refused because the executive gave them no scheduling privilege
    And the executive's Office 365 calendar has no meeting "Investor call"
    When the assistant views the executive's calendar
    Then the assistant is refused because the executive gave them no scheduling privilege
