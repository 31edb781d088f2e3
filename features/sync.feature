@sync @needs:bidirectional-sync
Feature: Bi-directional calendar sync (the Web Calendaring Service)
  Bi-directional calendar sync is optional and off by default; when it is on, meetings scheduled
  or updated in the platform are created or updated on the user's calendar through the calendar
  service's API, and changes made there to those events come back. Only events tied to a
  platform meeting are stored, sanitized to the documented fields, for the 30 days ahead, and
  discarded after the event. What reached the calendar service is read from its audit log; what
  the integration stores is read from its store.

  @req:SYNC-01
  Scenario Outline: Bi-directional sync is off by default and, while off, writes nothing to <calendar>
    Given the user has connected <calendar> with calendar write permission
    And a meeting "Dentist" is added to the user's <calendar> calendar tomorrow at 09:00
    Then bi-directional calendar sync is off for the user
    When the sync service runs
    Then the sync service did not run
    And the calendar service received no write
    And the store holds no sync records for the user
    And nothing about "Dentist" is stored
    When the user turns bi-directional calendar sync on for themselves
    Then bi-directional calendar sync is on for the user

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |

  @req:SYNC-02 @req:SYNC-03
  Scenario Outline: With sync on, meetings scheduled and updated in the platform reach <calendar> and its changes come back
    Given the user has connected <calendar> with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the provider traffic is marked
    When the user schedules a meeting "Design review" in 1 days at 10:00 for 30 minutes with the description "Agenda: the new API"
    Then the user's calendar has exactly one event "Design review" carrying the meeting's join link
    And the calendar service received 1 write of the kind "create"
    When the provider traffic is marked
    And the user moves the meeting "Design review" to tomorrow at 11:00
    Then the user's <calendar> calendar has the meeting "Design review" tomorrow at 11:00 exactly once
    And the calendar service received 1 write of the kind "update"
    When the meeting "Design review" is renamed "Design review (moved by Outlook)" on the user's calendar
    And the sync service runs
    Then the sync service read the calendar's changes incrementally from its stored cursor
    And the platform meeting is now called "Design review (moved by Outlook)"
    When the meeting "Design review (moved by Outlook)" is deleted on the user's calendar
    And the sync service runs
    Then the platform meeting is cancelled
    And the store holds 0 sync records

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |

  @req:SYNC-03
  Scenario Outline: With sync on, a meeting deleted in the platform is deleted on <calendar>
    Given the user has connected <calendar> with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the user schedules a meeting "Standup" in 2 days at 09:00 for 15 minutes with the description "Daily"
    And the provider traffic is marked
    When the user deletes the meeting "Standup"
    Then the user's <calendar> calendar has no meeting "Standup"
    And the calendar service received 1 write of the kind "delete"
    And the store holds 0 sync records

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |

  @req:SYNC-04 @req:SYNC-05 @req:SYNC-06
  Scenario Outline: Only events tied to a platform meeting are stored, sanitized, for the 30 days ahead (<calendar>)
    Given the user has connected <calendar> with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And a meeting "Dentist" is added to the user's <calendar> calendar tomorrow at 09:00
    When the user schedules a meeting "Design review" in 1 days at 10:00 for 30 minutes with the description "Agenda: the new API"
    And the user schedules a meeting "Offsite" in 45 days at 10:00 for 60 minutes with the description "Planning"
    And the sync service runs
    Then the store holds 2 sync records
    And the sync record of "Design review" keeps only the documented fields
    And the sync record of the meeting "Offsite" holds bookkeeping only
    And nothing about "Dentist" is stored

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |

  @req:SYNC-04
  Scenario: The stored window ends 30 days ahead: content an hour inside it, bookkeeping only an hour beyond
    Given the user has connected Office 365 through Graph with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    When the user schedules a meeting "Inside" starting 60 minutes before 30 days from now
    And the user schedules a meeting "Beyond" starting 60 minutes after 30 days from now
    And the sync service runs
    Then the store holds 2 sync records
    And the sync record of the meeting "Inside" holds its content
    And the sync record of the meeting "Beyond" holds bookkeeping only

  @req:SYNC-07
  Scenario Outline: Stored sync data is discarded after the event (<calendar>)
    Given the user has connected <calendar> with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the user schedules a meeting "Design review" in 1 days at 10:00 for 30 minutes with the description "Agenda: the new API"
    Then the store holds 1 sync record
    When 2 days pass
    And the sync service runs
    Then the store holds 0 sync records
    And no sync record mentions "Design review"

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |

  @req:SYNC-03
  Scenario: With sync on, a meeting a delegate schedules for the user (Schedule For) is pushed to the user's calendar
    Given the user has connected Office 365 through Graph with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the user gives the second member of tenant "contoso" scheduling privilege
    And the provider traffic is marked
    When the delegate schedules a meeting "Board prep" for the user tomorrow at 14:00
    Then the user's calendar has exactly one event "Board prep" carrying the meeting's join link
    And the calendar service received 1 write of the kind "create"
    And the store holds 1 sync record

  @req:SYNC-07
  Scenario: A sync record is kept while its event runs and discarded as soon as it has ended
    Given the user has connected Office 365 through Graph with calendar write permission
    And the admin turns bi-directional calendar sync on for the account
    And the user schedules a meeting "Design review" in 1 days at 10:00 for 30 minutes with the description "Agenda: the new API"
    When the clock reaches 10 minutes before the end of "Design review"
    And the sync service runs
    Then the store holds 1 sync record
    When the clock reaches 10 minutes after the end of "Design review"
    And the sync service runs
    Then the store holds 0 sync records
    And no sync record mentions "Design review"
