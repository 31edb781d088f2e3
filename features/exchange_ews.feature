@exchange @ews
Feature: Office 365 and Exchange through the EWS URL
  Office 365 can be authorized with the EWS URL, and Exchange integrated by entering the EWS URL:
  both grant full access to the mailbox, and EWS is a legacy, not recommended method. With
  "Enforce OAuth 2.0" on, calendar services authenticate with OAuth 2.0 only.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration

  @req:EWS-01 @req:EWS-03 @req:EWS-02 @needs:office365-ews
  Scenario: Choosing Office 365 with the EWS URL tells the admin it grants full mailbox access and is not recommended
    When the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    Then the admin is told that "grants full access to the mailbox"
    And the admin is told that "legacy method and not recommended"

  @req:GRAPH-03 @req:EWS-03 @needs:office365-graph
  Scenario: Choosing Office 365 with the Graph API carries no EWS warning
    When the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    Then the admin is told nothing about EWS

  @req:EWS-01 @req:OAUTH-01 @req:PERM-01 @req:SCOPE-05 @needs:office365-ews
  Scenario: A user connects Office 365 through the EWS URL with OAuth 2.0 and sees their meetings
    Given the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    Then the integration status is "connected"
    And the identity provider was asked for exactly the resource scopes "EWS.AccessAsUser.All"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    And every Exchange request carried an OAuth 2.0 token

  @req:EWS-01 @needs:office365-ews
  Scenario: Meetings changed in Office 365 reach the meeting list through EWS sync
    Given the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    When a meeting "EWS planning" is added to the user's Office 365 calendar tomorrow at 15:00
    And the integration runs its periodic sync
    Then the meeting list shows "EWS planning"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else

  @req:EXCH-01 @req:EXCH-02 @needs:exchange-ews
  Scenario: Exchange on-premises is integrated by entering the EWS URL with the user's mailbox credentials
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.544.27"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the user is the first member of tenant "contoso"
    When the user connects Exchange with their mailbox password
    Then the admin is told that "grants full access to the mailbox"
    And the integration status is "connected"
    And the meeting list shows every meeting of the user's Exchange calendar in the next 14 days and nothing else
    And Exchange was used with the user's mailbox password

  @req:OAUTH-01 @needs:exchange-ews
  Scenario: With Enforce OAuth 2.0 on, a mailbox password is refused and nothing is connected
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.544.27"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the admin turns "enforce_oauth" on
    And the user is the first member of tenant "contoso"
    When the user tries to connect Exchange with their mailbox password
    Then connecting is refused with "oauth_enforced" and a message containing "authenticate with OAuth 2.0"
    And no Basic credentials reached Exchange
    And the integration status is not "connected"

  @req:OAUTH-01 @needs:exchange-ews
  Scenario: An Exchange server that accepts only OAuth 2.0 refuses the mailbox password with a clear status
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.544.27"
    And the Exchange server of tenant "contoso" accepts only OAuth 2.0
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the user is the first member of tenant "contoso"
    When the user tries to connect Exchange with their mailbox password
    Then connecting is refused with "credentials_refused" and a message containing "refused the credentials"
    And the integration status is not "connected"

  @req:EWS-01 @req:PERM-02 @needs:office365-ews @needs:bidirectional-sync
  Scenario: With Calendar/Write the user moves and deletes meetings of their Office 365 calendar
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    And a meeting "Design review" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user moves the meeting "Design review" to tomorrow at 14:00
    Then the user's Office 365 calendar has the meeting "Design review" tomorrow at 14:00 exactly once
    When the user deletes the meeting "Design review"
    Then the user's Office 365 calendar has no meeting "Design review"
    And the meeting list does not show "Design review"
