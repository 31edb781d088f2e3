@google @needs:google
Feature: Google as the default calendar and contacts service
  The admin can choose Google as the default calendar and contact service ("Allow access to your
  contacts and calendar"). Each permission choice maps to the narrowest Google scopes (with
  calendar access, also the calendar list's read-only scope, which lists the calendars the user
  may sync); read-only choices never write; an expired sync token is recovered with nothing lost
  or duplicated.

  Background:
    Given a meeting platform account owned by the first user of the Google Workspace domain
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar and contact service to "Google"

  @req:GOOGLE-01 @req:SVC-02 @req:SVC-03 @needs:contacts
  Scenario Outline: Calendar <calendar> and contacts <contacts> ask Google for exactly <scopes>
    Given the admin sets the calendar permission to "<calendar>" and the contacts permission to "<contacts>"
    And the user is the first member of the Google Workspace domain
    When the user sets up the calendar integration with the default service and accepts the consent
    Then the integration status is "connected"
    And Google was asked for exactly the scopes "<scopes>"

    Examples:
      | calendar | contacts | scopes                                                                   |
      | Read     | None     | calendar.events.readonly calendar.calendarlist.readonly                  |
      | Read     | Read     | calendar.events.readonly calendar.calendarlist.readonly contacts.readonly |
      | Write    | Read     | calendar.events calendar.calendarlist.readonly contacts.readonly          |
      | Write    | Write    | calendar.events calendar.calendarlist.readonly contacts                   |

  @req:GOOGLE-01 @req:PERM-01 @req:PERM-03 @needs:contacts
  Scenario: With read-only permissions the Google integration shows meetings and contacts and never writes
    Given the admin sets the calendar permission to "Read" and the contacts permission to "Read"
    And the first member of the Google Workspace domain has connected Google with the default settings
    Then the meeting list shows every meeting of the user's Google calendar in the next 14 days and nothing else
    And the contact list shows the user's Google contacts
    When the user tries to schedule a meeting "Read-only check" tomorrow at 11:00 for 30 minutes
    Then the scheduling is refused because the calendar is read-only
    And no write call reached Google

  @req:GOOGLE-01 @req:SCOPE-02 @needs:bidirectional-sync
  Scenario: With calendar write a meeting scheduled on the platform lands on the Google calendar once
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the first member of the Google Workspace domain has connected Google with the default settings
    When the user schedules a meeting "Google kickoff" tomorrow at 11:00 for 30 minutes
    Then the user's Google calendar has exactly one meeting "Google kickoff"
    And the meeting list shows "Google kickoff"

  @req:GOOGLE-01 @req:SYNC-02
  Scenario: An expired Google sync token is recovered by a full sync with nothing lost or duplicated
    Given the user has connected Google with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the user schedules a meeting "Quarterly review" in 40 days at 15:00 for 60 minutes with the description "Numbers"
    And a meeting "Dentist" is added to the user's Google calendar tomorrow at 09:00
    When 31 days pass
    And the sync service runs
    Then Google answered a calendar sync with "410" and then served it again
    And the integration status is "connected"
    And the user's Google calendar has exactly one meeting "Quarterly review"
    And the store holds 1 sync record
    And nothing about "Dentist" is stored

  @req:GOOGLE-01
  Scenario: Google's rate limit is waited out by the client's retries
    Given the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the first member of the Google Workspace domain has connected Google with the default settings
    When a meeting "After the limit" is added to the user's Google calendar tomorrow at 16:00
    And Google throttles the next calendar request
    And the integration runs its periodic sync
    Then Google answered a calendar sync with "403" and then served it again
    And the meeting list shows "After the limit"

  @req:GOOGLE-01 @req:PERM-04 @needs:contacts
  Scenario: With contacts write, a contact saved from the call history lands in the user's Google contacts once
    Given the admin sets the calendar permission to "Read" and the contacts permission to "Write"
    And the first member of the Google Workspace domain has connected Google with the default settings
    When the user saves "Grace Hopper" <grace@partner.example.net> from the call history as a contact
    Then the user's Google contacts include "Grace Hopper" <grace@partner.example.net> exactly once
    And the contact list shows the user's Google contacts

  @req:GOOGLE-01 @req:PRIV-02 @req:PRIV-03 @needs:scheduling-privileges
  Scenario: An assistant without private access sees a Google private event as a time slot only
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of the Google Workspace domain
    And the executive has a private meeting "Board strategy" tomorrow at 09:00 in "Boardroom 4" with an invitation link and attendees
    And the executive has a meeting "Team sync" tomorrow at 11:00 with attendees
    And the executive has connected Google with the default settings
    And the executive gives the assistant scheduling privilege
    When the assistant views the executive's calendar
    Then the assistant sees the private meeting at 09:00 as a time slot only, without topic, invitation link or attendees
    And the assistant sees "Team sync" at 11:00 with its attendees

  @req:GOOGLE-01 @req:PRIV-01 @req:PRIV-03 @needs:scheduling-privileges
  Scenario: An assistant trusted to manage private events sees the Google private event's details
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the executive and the assistant are the first and second members of the Google Workspace domain
    And the executive has a private meeting "Board strategy" tomorrow at 09:00 with an invitation link and attendees
    And the executive has connected Google with the default settings
    And the executive gives the assistant scheduling privilege with managing private events
    When the assistant views the executive's calendar
    Then the assistant sees "Board strategy" at 09:00 with its topic, invitation link and attendees

  @req:GOOGLE-01 @req:PERM-02 @needs:bidirectional-sync
  Scenario: With Calendar/Write the user moves and deletes meetings of their Google calendar
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the first member of the Google Workspace domain has connected Google with the default settings
    And a meeting "Design review" is added to the user's Google calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user moves the meeting "Design review" to tomorrow at 14:00
    Then the user's Google calendar has the meeting "Design review" tomorrow at 14:00 exactly once
    When the user deletes the meeting "Design review"
    Then the user's Google calendar has no meeting "Design review"
    And the meeting list does not show "Design review"
